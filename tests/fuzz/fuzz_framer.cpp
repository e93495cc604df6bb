// Fuzzes line framing with the real batch/carry logic. The input bytes arrive in random-sized
// chunks and go through either
//   - StreamReader (what the stdin and exec sources use) reading a pipe, with the "input went
//     quiet" flushes the stdin source does at random points, or
//   - LineFramer driven directly with tiny batches, carrying the unfinished tail into the next
//     batch the way StreamReader::push_and_carry does, so batch-full carries happen constantly.
// Every pushed batch is checked: each event's line lies inside the batch buffer (which keeps the
// read padding), no line is longer than max_line_bytes, the split flag is set exactly on the
// pieces of cut lines, pieces are cut at most 3 bytes (a UTF-8 character) before the limit, and
// the lines plus their terminators (`\n`, `\r\n`, nothing at a cut, a dropped `\r` at the end of
// input) reproduce the input byte for byte.
//
// Parameters are taken from the end of the input (FuzzedDataProvider), so plain-text seeds work.
#include <fcntl.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "parse/framer.hpp"
#include "sluice/batch.hpp"
#include "sluice/source.hpp"
#include "sources/stream_reader.hpp"

namespace sluice {
namespace {

class Checker {
 public:
  Checker(std::string_view input, size_t max_line) : input_(input), max_line_(max_line) {}

  // `final`: the batch pushed at end of input.
  void batch(const Batch& b, bool final) {
    FUZZ_CHECK(!done_);
    done_ = final;
    const char* base = b.bytes.data();
    const size_t size = b.bytes.size();
    if (b.events.empty()) {
      FUZZ_CHECK(size == 0);
      return;
    }
    // The parsers read up to kReadPadding bytes past a line (simdjson).
    FUZZ_CHECK(b.bytes.capacity() >= size + kReadPadding);
    size_t prev_end = 0;
    for (size_t i = 0; i < b.events.size(); ++i) {
      const Event& e = b.events[i];
      FUZZ_CHECK(e.line.data() >= base);
      const auto off = static_cast<size_t>(e.line.data() - base);
      FUZZ_CHECK(off <= size && e.line.size() <= size - off);
      FUZZ_CHECK(off >= prev_end);
      if (i == 0) {
        FUZZ_CHECK(off == 0);  // a batch starts with the carried tail: no byte is skipped
      } else {
        separator(b.events[i - 1], std::string_view(base + prev_end, off - prev_end), false);
      }
      FUZZ_CHECK((e.flags & ~kFlagSplit) == 0);
      FUZZ_CHECK(e.line.size() <= max_line_);
      FUZZ_CHECK(input_.size() - pos_ >= e.line.size());
      FUZZ_CHECK(std::memcmp(input_.data() + pos_, e.line.data(), e.line.size()) == 0);
      pos_ += e.line.size();
      prev_end = off + e.line.size();
    }
    separator(b.events.back(), std::string_view(base + prev_end, size - prev_end), final);
  }

  void end() {
    FUZZ_CHECK(done_ || input_.empty());
    FUZZ_CHECK(pos_ == input_.size());
    FUZZ_CHECK(!prev_cut_);
  }

 private:
  // `gap`: the bytes between `e` and the next event (or the end of the batch).
  void separator(const Event& e, std::string_view gap, bool at_end_of_input) {
    bool cut = false;
    if (gap == "\n" || gap == "\r\n") {
      // `\r\n` is one terminator: its `\r` is never left in the line.
      FUZZ_CHECK(gap == "\r\n" || e.line.empty() || e.line.back() != '\r');
    } else if (gap.empty()) {
      cut = !at_end_of_input;
    } else {
      // finish() drops a `\r` that ends the input.
      FUZZ_CHECK(gap == "\r" && at_end_of_input);
    }
    FUZZ_CHECK(input_.size() - pos_ >= gap.size());
    FUZZ_CHECK(std::memcmp(input_.data() + pos_, gap.data(), gap.size()) == 0);
    pos_ += gap.size();
    // Exactly the pieces of a cut line carry the split flag.
    FUZZ_CHECK(((e.flags & kFlagSplit) != 0) == (prev_cut_ || cut));
    // A cut happens at the limit, moved back at most 3 bytes to a UTF-8 character boundary.
    if (cut) FUZZ_CHECK(e.line.size() + 3 >= max_line_);
    prev_cut_ = cut;
  }

  std::string_view input_;
  size_t max_line_;
  size_t pos_ = 0;
  bool prev_cut_ = false;
  bool done_ = false;
};

// A SourceContext that checks every pushed batch and recycles batches like the pipeline does.
class CheckingContext final : public SourceContext {
 public:
  explicit CheckingContext(Checker& checker) : checker_(checker) {}
  ~CheckingContext() override = default;

  Batch* acquire() override {
    if (free_.empty()) return new Batch();
    Batch* b = free_.back().release();
    free_.pop_back();
    return b;
  }
  void push(Batch* batch) override {
    checker_.batch(*batch, finishing);
    release(batch);
  }
  void release(Batch* batch) override {
    batch->reset();
    free_.emplace_back(batch);
  }
  // Acknowledgements are not part of framing.
  [[nodiscard]] uint64_t acknowledged_checkpoint() const override { return 0; }
  bool wait_for_acks(int64_t deadline_monotonic_ns) override { return true; }
  [[nodiscard]] int64_t shutdown_deadline_ns() const override { return 0; }

  bool finishing = false;

 private:
  Checker& checker_;
  std::vector<std::unique_ptr<Batch>> free_;
};

// The pipe StreamReader reads from; created once, non-blocking, emptied after every input.
int pipe_fds[2] = {-1, -1};

void ensure_pipe() {
  if (pipe_fds[0] >= 0) return;
  if (::pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) __builtin_trap();
  ::fcntl(pipe_fds[1], F_SETPIPE_SZ, 1 << 20);  // inputs are at most 64 KiB anyway
}

void run_stream_reader(std::string_view data, size_t max_line, std::minstd_rand& rng,
                       size_t max_chunk, unsigned flush_one_in) {
  ensure_pipe();
  Checker checker(data, max_line);
  CheckingContext ctx(checker);
  {
    StreamReader reader(ctx, "stdin", FramerOptions{max_line});
    size_t pending = 0;  // written to the pipe, not read yet
    size_t pos = 0;
    while (pos < data.size()) {
      size_t n = std::min<size_t>(data.size() - pos, 1 + rng() % max_chunk);
      ssize_t w = ::write(pipe_fds[1], data.data() + pos, n);
      if (w > 0) {
        pos += static_cast<size_t>(w);
        pending += static_cast<size_t>(w);
      }
      while (pending > 0) {
        ssize_t r = reader.read_once(pipe_fds[0]);
        FUZZ_CHECK(r > 0);
        pending -= static_cast<size_t>(r);
      }
      // The stdin source flushes whenever the input goes quiet.
      if (flush_one_in != 0 && rng() % flush_one_in == 0) reader.flush();
    }
    ctx.finishing = true;
    reader.finish();
  }
  checker.end();
}

// LineFramer with batches of at most `batch_limit` bytes, carrying the tail like StreamReader.
void run_small_batches(std::string_view data, size_t max_line, std::minstd_rand& rng,
                       size_t max_chunk, size_t batch_limit) {
  Checker checker(data, max_line);
  CheckingContext ctx(checker);
  LineFramer framer(FramerOptions{max_line});
  Batch* batch = ctx.acquire();
  batch->bytes.reserve(batch_limit + kReadPadding);
  auto push_and_carry = [&] {
    size_t tail = framer.tail_start();
    size_t tail_len = batch->bytes.size() - tail;
    Batch* next = ctx.acquire();
    next->bytes.reserve(std::max(batch_limit, tail_len * 2) + kReadPadding);
    if (tail_len) {
      std::memcpy(next->bytes.prepare(tail_len), batch->bytes.data() + tail, tail_len);
      next->bytes.commit(tail_len);
    }
    framer.carried(tail_len);
    batch->bytes.resize(tail);
    ctx.push(batch);
    batch = next;
  };
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = std::min<size_t>(data.size() - pos, 1 + rng() % max_chunk);
    if (batch->bytes.capacity() < batch->bytes.size() + n + kReadPadding) {
      if (!batch->events.empty()) push_and_carry();
      // No event points into the buffer now, so it may move.
      batch->bytes.reserve(std::max(batch->bytes.size() * 2, batch->bytes.size() + n) +
                           kReadPadding);
    }
    std::memcpy(batch->bytes.prepare(n), data.data() + pos, n);
    batch->bytes.commit(n);
    pos += n;
    framer.frame(*batch);
    if (batch->bytes.size() >= batch_limit && !batch->events.empty()) push_and_carry();
  }
  framer.finish(*batch);
  ctx.finishing = true;
  ctx.push(batch);
  checker.end();
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  // max_line_bytes: the config minimum (16) and small values make cuts frequent; sometimes the
  // default (1 MiB), so lines are only ever cut by the batch boundaries.
  const uint8_t line_choice = fdp.ConsumeIntegral<uint8_t>();
  const size_t max_line = line_choice >= 240 ? size_t{1} << 20 : 16 + line_choice % 112;
  const size_t max_chunk = 1 + fdp.ConsumeIntegralInRange<size_t>(0, 4095);
  const uint8_t mode = fdp.ConsumeIntegral<uint8_t>();
  const uint32_t seed = fdp.ConsumeIntegral<uint32_t>();
  std::vector<uint8_t> bytes = fdp.ConsumeRemainingBytes<uint8_t>();
  std::string_view input(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::minstd_rand rng(seed);

  if (mode & 1) {
    sluice::run_stream_reader(input, max_line, rng, max_chunk, (mode >> 1) % 8);
  } else {
    sluice::run_small_batches(input, max_line, rng, max_chunk, 1 + (mode >> 1) * 16);
  }
  return 0;
}
