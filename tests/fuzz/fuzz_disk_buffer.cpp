// Fuzzes disk-buffer recovery: the input becomes the files of a buffer directory (up to four
// segments and a ledger, cut from the input at lengths it chooses), which DiskBuffer::open must
// recover without crashing. Everything it then reads is handed to decode_batch_record, as the
// sink side does. Invariants: what recovery reports as skipped is consistent, a record appended
// after recovery reads back intact, and a reopen finds nothing new to skip. The input's tail is
// also decoded directly as a record payload (CRC-valid records are rare in random bytes, so the
// decoder gets its own share of the input).
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "base/log.hpp"
#include "core/buffer_record.hpp"
#include "core/disk_buffer.hpp"
#include "fuzz_common.hpp"

namespace sluice {
namespace {

namespace fs = std::filesystem;

// On tmpfs where there is one: the buffer fsyncs its directory and ledger, which on a disk
// would make each input cost milliseconds.
const std::string& buffer_dir() {
  static const std::string* dir = [] {
    char shm[] = "/dev/shm/sluice-fuzz-disk-buffer-XXXXXX";
    char tmp[] = "/tmp/sluice-fuzz-disk-buffer-XXXXXX";
    char* tmpl = ::mkdtemp(shm) != nullptr ? shm : tmp;
    FUZZ_CHECK(tmpl == shm || ::mkdtemp(tmp) != nullptr);
    static std::string root = tmpl;
    std::atexit([] { fs::remove_all(root); });
    return new std::string(root + "/buffer");
  }();
  return *dir;
}

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Takes a little-endian u16 from the front of `in` (0 when it is too short).
uint16_t take_u16(std::string_view& in) {
  if (in.size() < 2) return 0;
  auto v = static_cast<uint16_t>(static_cast<unsigned char>(in[0]) |
                                 (static_cast<unsigned char>(in[1]) << 8));
  in.remove_prefix(2);
  return v;
}

std::unique_ptr<DiskBuffer> open_buffer() {
  DiskBufferOptions options;
  options.dir = buffer_dir();
  options.max_bytes = 1 << 20;
  options.segment_bytes = 64 << 10;
  options.fsync = FsyncPolicy::Never;
  std::string error;
  auto buffer = DiskBuffer::open(options, &error);
  if (!buffer) {
    std::fprintf(stderr, "open failed: %s\n", error.c_str());
    __builtin_trap();  // damage in the files must never make the directory unusable
  }
  return buffer;
}

void run(std::string_view input) {
  fs::remove_all(buffer_dir());
  fs::create_directories(buffer_dir());
  std::string_view in = input;
  const int segments = 1 + static_cast<int>(take_u16(in) % 4);
  const uint16_t ledger_length = take_u16(in) % 64;
  std::string_view ledger = in.substr(0, ledger_length);
  in.remove_prefix(ledger.size());
  if (!ledger.empty()) write_file(buffer_dir() + "/ledger", ledger);
  for (int i = 1; i <= segments; ++i) {
    size_t length = i == segments ? in.size() : std::min<size_t>(take_u16(in), in.size());
    char name[32];
    std::snprintf(name, sizeof name, "/%020d.seg", i);
    write_file(buffer_dir() + name, in.substr(0, length));
    in.remove_prefix(length);
  }

  {
    auto buffer = open_buffer();
    DiskBufferStats stats = buffer->stats();
    FUZZ_CHECK(stats.corrupt_records <= static_cast<uint64_t>(segments));
    FUZZ_CHECK(stats.skipped_bytes <= input.size());
    ByteBuffer payload;
    uint64_t id = 0;
    EncodedBatch batch;
    std::string error;
    int reads = 0;
    while (buffer->read(payload, &id)) {
      FUZZ_CHECK(++reads <= static_cast<int>(input.size()));
      if (decode_batch_record(payload.view(), batch, &error)) {
        FUZZ_CHECK(batch.count() > 0);
        FUZZ_CHECK(batch.ends.back() == batch.data.size());
      }
      buffer->ack(id);
    }
    FUZZ_CHECK(buffer->caught_up());
    // The recovered buffer takes new records and gives them back intact.
    std::string fresh = "after recovery";
    iovec piece{fresh.data(), fresh.size()};
    FUZZ_CHECK(buffer->append({&piece, 1}).status == DiskBuffer::AppendStatus::Ok);
    FUZZ_CHECK(buffer->read(payload, &id));
    FUZZ_CHECK(payload.view() == fresh);
    buffer->ack(id);
  }
  // Everything was delivered and the ledger saved: a reopen skips nothing and reads nothing.
  auto again = open_buffer();
  FUZZ_CHECK(again->stats().corrupt_records == 0);
  ByteBuffer payload;
  uint64_t id = 0;
  FUZZ_CHECK(!again->read(payload, &id));

  EncodedBatch direct;
  std::string error;
  if (decode_batch_record(input, direct, &error)) {
    FUZZ_CHECK(direct.count() > 0);
    for (size_t i = 0; i < direct.count(); ++i) (void)direct.event(i);
    for (size_t i = 0; i < direct.count(); ++i) {
      for (size_t t = 0; t < direct.templates_per_event; ++t) (void)direct.rendered_value(i, t);
    }
  }
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  sluice::log::set_threshold_from_name("error");  // recovery warnings on every input are noise
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sluice::run({reinterpret_cast<const char*>(data), size});
  return 0;
}
