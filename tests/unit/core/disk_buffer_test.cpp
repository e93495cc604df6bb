#include "core/disk_buffer.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "base/crc32c.hpp"
#include "support/temp_dir.hpp"

namespace sluice {

using testing::TempDir;
namespace {

namespace fs = std::filesystem;

class DiskBufferTest : public ::testing::Test {
 protected:
  DiskBufferOptions options(int64_t max_bytes = 1 << 20, int64_t segment_bytes = 64 << 10) {
    DiskBufferOptions o;
    o.dir = root_ + "/buffer";
    o.max_bytes = max_bytes;
    o.segment_bytes = segment_bytes;
    o.fsync = FsyncPolicy::Never;
    return o;
  }
  std::unique_ptr<DiskBuffer> open(const DiskBufferOptions& o) {
    std::string error;
    auto buffer = DiskBuffer::open(o, &error);
    EXPECT_NE(buffer, nullptr) << error;
    return buffer;
  }
  static DiskBuffer::AppendStatus append(DiskBuffer& b, const std::string& payload) {
    iovec piece{const_cast<char*>(payload.data()), payload.size()};
    return b.append({&piece, 1}).status;
  }
  // Reads everything readable now, acknowledging each record when `ack`.
  static std::vector<std::string> drain(DiskBuffer& b, bool ack = true) {
    std::vector<std::string> out;
    ByteBuffer payload;
    uint64_t id = 0;
    while (b.read(payload, &id)) {
      out.emplace_back(payload.view());
      if (ack) b.ack(id);
    }
    return out;
  }
  std::vector<fs::path> segments() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(root_ + "/buffer")) {
      if (e.path().extension() == ".seg" && e.path().stem().string().size() == 20) {
        out.push_back(e.path());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::string record(int n, size_t size = 100) {
    std::string s = "record " + std::to_string(n) + " ";
    s.resize(size, static_cast<char>('a' + n % 26));
    return s;
  }

  TempDir tmp_{"sluice-disk-buffer"};
  std::string root_ = tmp_.path();
};

TEST(Crc32c, MatchesTheStandardCheckValueAndContinues) {
  // The check value of CRC-32C (RFC 3720, appendix B.4): "123456789" → 0xE3069283.
  EXPECT_EQ(crc32c(std::string_view("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(std::string_view("56789"), crc32c(std::string_view("1234"))), 0xE3069283u);
  std::string big(100000, 'x');
  EXPECT_EQ(crc32c(std::string_view(big).substr(37), crc32c(std::string_view(big).substr(0, 37))),
            crc32c(big));
}

TEST(Ledger, RoundTripsAndRejectsDamage) {
  uint64_t segment = 0;
  int64_t offset = 0;
  ASSERT_TRUE(parse_ledger(format_ledger(42, 4096), &segment, &offset));
  EXPECT_EQ(segment, 42u);
  EXPECT_EQ(offset, 4096);
  for (std::string bad : {"", "sluice-buffer-ledger 1 42 4096", "sluice-buffer-ledger 1 42\n",
                          "sluice-buffer-ledger 1 x 1\n", "sluice-buffer-ledger 2 1 1\n",
                          "sluice-buffer-ledger 1 1 -5\n", "sluice-buffer-ledger 1 1 1 1\n"}) {
    EXPECT_FALSE(parse_ledger(bad, &segment, &offset)) << bad;
  }
}

TEST_F(DiskBufferTest, RecordsComeBackInOrderFromGatheredPieces) {
  auto b = open(options());
  std::string a = "hello ", c = "world";
  iovec pieces[2] = {{a.data(), a.size()}, {c.data(), c.size()}};
  ASSERT_EQ(b->append(pieces).status, DiskBuffer::AppendStatus::Ok);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(append(*b, record(i)), DiskBuffer::AppendStatus::Ok);
  auto got = drain(*b);
  ASSERT_EQ(got.size(), 51u);
  EXPECT_EQ(got[0], "hello world");
  for (int i = 0; i < 50; ++i) EXPECT_EQ(got[i + 1], record(i));
  EXPECT_TRUE(b->caught_up());
  EXPECT_EQ(b->stats().records, 0u);
}

TEST_F(DiskBufferTest, SegmentsRollAndAreDeletedOnceEveryRecordInThemIsAcknowledged) {
  auto b = open(options(1 << 20, 64 << 10));
  for (int i = 0; i < 40; ++i)
    ASSERT_EQ(append(*b, record(i, 10000)), DiskBuffer::AppendStatus::Ok);
  EXPECT_GE(segments().size(), 6u);  // 40 × 10 KB in 64 KiB segments
  // Read everything but acknowledge nothing: nothing may be deleted.
  ByteBuffer payload;
  std::vector<uint64_t> ids;
  uint64_t id = 0;
  while (b->read(payload, &id)) ids.push_back(id);
  ASSERT_EQ(ids.size(), 40u);
  size_t all = segments().size();
  // Acknowledge out of order, the first one last: still nothing deletable.
  for (size_t i = ids.size(); i-- > 1;) b->ack(ids[i]);
  EXPECT_EQ(segments().size(), all);
  b->ack(ids[0]);
  EXPECT_EQ(segments().size(), 1u);  // only the active segment remains
  EXPECT_LE(b->stats().disk_bytes, 64 << 10);
}

TEST_F(DiskBufferTest, ReopenResumesAfterTheAcknowledgedRecords) {
  {
    auto b = open(options());
    for (int i = 0; i < 10; ++i) ASSERT_EQ(append(*b, record(i)), DiskBuffer::AppendStatus::Ok);
    ByteBuffer payload;
    uint64_t id = 0;
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(b->read(payload, &id));
      if (i < 4) b->ack(id);  // 4 delivered, 6 read but not delivered
    }
    std::string error;
    ASSERT_TRUE(b->save_ledger(&error)) << error;
  }
  auto b = open(options());
  EXPECT_EQ(b->stats().records, 6u);
  auto got = drain(*b);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got.front(), record(4));
  // Appends after a reopen follow the recovered records.
  ASSERT_EQ(append(*b, "after"), DiskBuffer::AppendStatus::Ok);
  EXPECT_EQ(drain(*b), std::vector<std::string>{"after"});
}

TEST_F(DiskBufferTest, AnUnreadableLedgerReplaysEverythingLeft) {
  {
    auto b = open(options());
    for (int i = 0; i < 5; ++i) ASSERT_EQ(append(*b, record(i)), DiskBuffer::AppendStatus::Ok);
    drain(*b);  // all acknowledged; the ledger is saved at close
  }
  std::ofstream(root_ + "/buffer/ledger", std::ios::trunc) << "garbage";
  auto b = open(options());
  // Without the ledger every record left is read again: duplicates, never a loss.
  EXPECT_EQ(drain(*b).size(), 5u);
}

TEST_F(DiskBufferTest, ATornTailIsCountedAndSkippedKeepingTheRecordsBeforeIt) {
  {
    auto b = open(options());
    for (int i = 0; i < 5; ++i) ASSERT_EQ(append(*b, record(i)), DiskBuffer::AppendStatus::Ok);
  }
  fs::path last = segments().back();
  if (fs::file_size(last) == 0) last = segments()[segments().size() - 2];
  fs::resize_file(last, fs::file_size(last) - 3);  // a crash in the middle of the last write
  auto b = open(options());
  DiskBufferStats stats = b->stats();
  EXPECT_EQ(stats.corrupt_records, 1u);
  EXPECT_EQ(stats.skipped_bytes, 100u + DiskBuffer::kHeaderBytes - 3);
  auto got = drain(*b);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got.back(), record(3));
}

TEST_F(DiskBufferTest, ACorruptRecordEndsItsSegmentAndIsCounted) {
  {
    auto b = open(options());
    for (int i = 0; i < 5; ++i) ASSERT_EQ(append(*b, record(i)), DiskBuffer::AppendStatus::Ok);
  }
  fs::path seg;
  for (const auto& s : segments()) {
    if (fs::file_size(s) > 0) seg = s;
  }
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2 * (100 + DiskBuffer::kHeaderBytes) + 50);  // inside record 2's payload
    f.put('#');
  }
  auto b = open(options());
  EXPECT_EQ(b->stats().corrupt_records, 1u);
  auto got = drain(*b);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], record(1));
}

TEST_F(DiskBufferTest, GarbageSegmentsNeverCrashTheRecovery) {
  fs::create_directories(root_ + "/buffer");
  std::mt19937 rng(7);
  auto write_file = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(root_ + "/buffer/" + name, std::ios::binary) << bytes;
  };
  std::string noise(5000, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  write_file("00000000000000000001.seg", noise);
  write_file("00000000000000000002.seg", "");
  std::string huge_length("\xff\xff\xff\x7f\0\0\0\0xyz", 11);
  write_file("00000000000000000003.seg", huge_length);
  write_file("00000000000000000004.seg", std::string(64, '\0'));  // zero-filled after a crash
  write_file("not-a-segment.seg", "ignored");
  auto b = open(options());
  EXPECT_EQ(b->stats().corrupt_records, 3u);
  EXPECT_TRUE(drain(*b).empty());
  ASSERT_EQ(append(*b, "fresh"), DiskBuffer::AppendStatus::Ok);
  EXPECT_EQ(drain(*b), std::vector<std::string>{"fresh"});
  EXPECT_EQ(segments().size(), 1u);  // the damaged segments went once passed
}

TEST_F(DiskBufferTest, FullUntilTheSinkAcknowledgesThenRoomComesBack) {
  auto b = open(options(256 << 10, 64 << 10));
  int stored = 0;
  while (append(*b, record(stored, 8000)) == DiskBuffer::AppendStatus::Ok) ++stored;
  EXPECT_GE(stored, 25);
  EXPECT_LE(b->stats().disk_bytes, 256 << 10);
  EXPECT_FALSE(b->wait_for_room(8000, std::chrono::milliseconds(10)));
  EXPECT_EQ(static_cast<int>(drain(*b).size()), stored);
  EXPECT_TRUE(b->wait_for_room(8000, std::chrono::milliseconds(10)));
  EXPECT_EQ(append(*b, record(0, 8000)), DiskBuffer::AppendStatus::Ok);
}

TEST_F(DiskBufferTest, AnEmptyBufferAdmitsARecordLargerThanItsBound) {
  auto b = open(options(256 << 10, 64 << 10));
  ASSERT_EQ(append(*b, std::string(300 << 10, 'x')), DiskBuffer::AppendStatus::Ok);
  EXPECT_EQ(append(*b, "more"), DiskBuffer::AppendStatus::Full);
  EXPECT_EQ(drain(*b).size(), 1u);
}

TEST_F(DiskBufferTest, ADeliveredRecordLargerThanASegmentDoesNotKeepTheBufferFull) {
  auto b = open(options(256 << 10, 64 << 10));
  const std::string big(200 << 10, 'b');
  ASSERT_EQ(append(*b, big), DiskBuffer::AppendStatus::Ok);
  EXPECT_EQ(append(*b, big), DiskBuffer::AppendStatus::Full);  // not delivered yet
  EXPECT_EQ(drain(*b).size(), 1u);
  // Delivered: its segment is retired and deleted, so the next one fits.
  ASSERT_EQ(append(*b, big), DiskBuffer::AppendStatus::Ok);
  EXPECT_EQ(drain(*b), std::vector<std::string>{big});
  EXPECT_EQ(segments().size(), 1u);  // the first one went; the second is the active one
}

TEST_F(DiskBufferTest, TwoProcessesCannotShareABuffer) {
  auto first = open(options());
  std::string error;
  EXPECT_EQ(DiskBuffer::open(options(), &error), nullptr);
  EXPECT_NE(error.find("in use by another process"), std::string::npos) << error;
}

TEST_F(DiskBufferTest, AFailedWriteLeavesNoPartialRecord) {
  auto o = options();
  auto b = open(o);
  ASSERT_EQ(append(*b, record(1)), DiskBuffer::AppendStatus::Ok);
  // A file-size limit makes the next write fail part-way (EFBIG), like a file system filling up.
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = 1000;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &low), 0);
  std::string big(5000, 'z');
  iovec piece{big.data(), big.size()};
  DiskBuffer::AppendResult failed = b->append({&piece, 1});
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  EXPECT_EQ(failed.status, DiskBuffer::AppendStatus::Failed);
  EXPECT_EQ(failed.error, EFBIG);
  EXPECT_EQ(b->stats().write_errors, 1u);
  ASSERT_EQ(append(*b, record(2)), DiskBuffer::AppendStatus::Ok);
  EXPECT_EQ(drain(*b), (std::vector<std::string>{record(1), record(2)}));
  b.reset();
  // And nothing damaged is found at the next start.
  auto again = open(o);
  EXPECT_EQ(again->stats().corrupt_records, 0u);
}

TEST_F(DiskBufferTest, SyncCoversEveryAppendSoFar) {
  auto o = options();
  o.fsync = FsyncPolicy::Interval;
  auto b = open(o);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(append(*b, record(i)), DiskBuffer::AppendStatus::Ok);
  std::string error;
  EXPECT_EQ(b->sync(&error), 3u);
  EXPECT_TRUE(error.empty()) << error;
  o.fsync = FsyncPolicy::Always;
  b.reset();
  auto always = open(o);
  ASSERT_EQ(append(*always, record(9)), DiskBuffer::AppendStatus::Ok);
  EXPECT_EQ(drain(*always).size(), 4u);
}

}  // namespace
}  // namespace sluice
