#include "sinks/file/file_writer.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <fstream>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace sluice {

using testing::TempDir;
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kNow = 1795577400 * kSecond;  // 2026-11-25T03:30:00Z
constexpr const char* kTs = "20261125T033000Z";

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

uint64_t file_size(const std::string& path) { return std::filesystem::file_size(path); }

// Decompresses concatenated gzip members; `members` counts the complete ones. A trailing member
// that is flushed but not finished contributes its bytes without counting.
std::string gunzip(const std::string& in, int* members = nullptr) {
  std::string out;
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 32), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int complete = 0;
  char buf[65536];
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    int rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (rc == Z_STREAM_END) {
      ++complete;
      if (zs.avail_in == 0) break;
      inflateReset(&zs);
      continue;
    }
    if (rc == Z_BUF_ERROR || (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0)) break;
    if (rc != Z_OK) {
      ADD_FAILURE() << "inflate error " << rc;
      break;
    }
  }
  inflateEnd(&zs);
  if (members) *members = complete;
  return out;
}

std::string unzstd(const std::string& in, int* frames = nullptr) {
  std::string out;
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  int complete = 0;
  std::vector<char> buf(ZSTD_DStreamOutSize());
  for (;;) {
    ZSTD_outBuffer output{buf.data(), buf.size(), 0};
    size_t rc = ZSTD_decompressStream(dctx, &output, &input);
    if (ZSTD_isError(rc)) {
      ADD_FAILURE() << "zstd error " << ZSTD_getErrorName(rc);
      break;
    }
    out.append(buf.data(), output.pos);
    if (rc == 0) ++complete;
    if (input.pos == input.size && output.pos < output.size) break;
  }
  ZSTD_freeDCtx(dctx);
  if (frames) *frames = complete;
  return out;
}

std::string decompress(Compression c, const std::string& in, int* units = nullptr) {
  return c == Compression::Gzip ? gunzip(in, units) : unzstd(in, units);
}

std::string json_lines(int first, int count) {
  std::string s;
  for (int i = first; i < first + count; ++i) {
    s += R"({"ts":"2026-11-25T03:30:00Z","level":"info","seq":)" + std::to_string(i) +
         R"(,"msg":"request handled","path":"/api/v1/items/)" + std::to_string(i * 7919 % 1000) +
         "\"}\n";
  }
  return s;
}

// out.YYYYMMDDTHHMMSSZ[-N].jsonl, checked by hand: std::regex trips GCC 12 warnings under ASan.
bool is_rotated_jsonl(const std::string& name) {
  auto digits = [&](size_t pos, size_t n) {
    if (pos + n > name.size()) return false;
    for (size_t i = pos; i < pos + n; ++i) {
      if (name[i] < '0' || name[i] > '9') return false;
    }
    return true;
  };
  if (name.rfind("out.", 0) != 0 || !digits(4, 8) || name.size() < 20 || name[12] != 'T' ||
      !digits(13, 6) || name[19] != 'Z') {
    return false;
  }
  size_t pos = 20;
  if (pos < name.size() && name[pos] == '-') {
    size_t end = pos + 1;
    while (digits(end, 1)) ++end;
    if (end == pos + 1) return false;
    pos = end;
  }
  return name.compare(pos, std::string::npos, ".jsonl") == 0;
}

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Simulates a full disk: writes past the limit fail with EFBIG (SIGXFSZ ignored).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    set(bytes);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  void set(rlim_t bytes) {
    rlimit lim = old_;
    lim.rlim_cur = bytes;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  }
  void lift() { ::setrlimit(RLIMIT_FSIZE, &old_); }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

class FileWriterTest : public ::testing::Test {
 protected:
  std::string at(const std::string& name) const { return dir_ + "/" + name; }

  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  TempDir tmp_{"sluice-fw-test"};
  std::string dir_ = tmp_.path();
};

TEST_F(FileWriterTest, PlainAppendAndReopenAppend) {
  std::string err;
  {
    FileWriter w({.path = at("out.jsonl")});
    EXPECT_EQ(w.bytes_written(), 0u);
    ASSERT_TRUE(w.write("a\n", &err)) << err;
    ASSERT_TRUE(w.write("bb\n", &err)) << err;
    EXPECT_EQ(w.bytes_written(), 5u);
    EXPECT_TRUE(w.flush(kNow, &err)) << err;
    EXPECT_EQ(testing::read_file(at("out.jsonl")), "a\nbb\n");
    ASSERT_TRUE(w.close(&err)) << err;
  }
  FileWriter w({.path = at("out.jsonl")});
  ASSERT_TRUE(w.write("ccc\n", &err)) << err;
  EXPECT_EQ(w.bytes_written(), 9u);  // includes what the file held before
  ASSERT_TRUE(w.close(&err)) << err;
  EXPECT_EQ(testing::read_file(at("out.jsonl")), "a\nbb\nccc\n");
}

TEST_F(FileWriterTest, ALineCutByACrashIsEndedBeforeAppending) {
  {
    std::ofstream(at("out.jsonl")) << "{\"whole\":1}\n{\"message\":\"half";  // kill -9 mid-write
  }
  std::string err;
  FileWriter w({.path = at("out.jsonl")});
  ASSERT_TRUE(w.write("{\"next\":2}\n", &err)) << err;
  ASSERT_TRUE(w.close(&err)) << err;
  // The next event is a line of its own, not glued to the fragment.
  EXPECT_EQ(testing::read_file(at("out.jsonl")),
            "{\"whole\":1}\n{\"message\":\"half\n{\"next\":2}\n");
}

TEST_F(FileWriterTest, CreatesMissingParentDirectories) {
  std::string err;
  FileWriter w({.path = at("x/y/z/out.log")});
  ASSERT_TRUE(w.write("hello\n", &err)) << err;
  ASSERT_TRUE(w.close(&err)) << err;
  EXPECT_EQ(testing::read_file(at("x/y/z/out.log")), "hello\n");
}

TEST_F(FileWriterTest, UnwritablePathReportsPathAndStaysUsable) {
  ASSERT_TRUE(FileWriter({.path = at("file")}).write("x", nullptr));
  std::string err;
  FileWriter bad({.path = at("file/out.jsonl")});  // parent is a regular file
  EXPECT_FALSE(bad.write("data\n", &err));
  EXPECT_NE(err.find(at("file/out.jsonl")), std::string::npos) << err;

  // Without create_dirs the missing directory is an error until someone creates it.
  FileWriter w({.path = at("later/out.jsonl"), .create_dirs = false});
  err.clear();
  EXPECT_FALSE(w.write("data\n", &err));
  EXPECT_NE(err.find(at("later/out.jsonl")), std::string::npos) << err;
  ASSERT_EQ(::mkdir(at("later").c_str(), 0755), 0);
  ASSERT_TRUE(w.write("data\n", &err)) << err;
  ASSERT_TRUE(w.close(&err)) << err;
  EXPECT_EQ(testing::read_file(at("later/out.jsonl")), "data\n");
}

TEST_F(FileWriterTest, RotatedNames) {
  EXPECT_EQ(FileWriter::rotated_name("out.jsonl", kNow), std::string("out.") + kTs + ".jsonl");
  EXPECT_EQ(FileWriter::rotated_name("/var/log/out.jsonl.gz", kNow),
            std::string("/var/log/out.") + kTs + ".jsonl.gz");
  EXPECT_EQ(FileWriter::rotated_name("out", kNow), std::string("out.") + kTs);
  EXPECT_EQ(FileWriter::rotated_name("/a/b.c/out", kNow), std::string("/a/b.c/out.") + kTs);
  EXPECT_EQ(FileWriter::rotated_name("/a/.hidden", kNow), std::string("/a/.hidden.") + kTs);
  EXPECT_EQ(FileWriter::rotated_name("out", kNow + kSecond - 1), std::string("out.") + kTs);
  EXPECT_EQ(FileWriter::rotated_name("out", kNow + 3661 * kSecond), "out.20261125T043101Z");
  EXPECT_EQ(FileWriter::rotated_name("out", -1), "out.19691231T235959Z");
  EXPECT_TRUE(is_rotated_jsonl(FileWriter::rotated_name("out.jsonl", kNow)));
  EXPECT_FALSE(is_rotated_jsonl("out.20261125T033000Z-.jsonl"));
  EXPECT_FALSE(is_rotated_jsonl("out.2026112xT033000Z.jsonl"));

  std::string first = at(std::string("out.") + kTs + ".jsonl");
  EXPECT_EQ(FileWriter::rotated_name(at("out.jsonl"), kNow), first);
  ASSERT_TRUE(FileWriter({.path = first}).write("x", nullptr));
  std::string second = at(std::string("out.") + kTs + "-1.jsonl");
  EXPECT_EQ(FileWriter::rotated_name(at("out.jsonl"), kNow), second);
  ASSERT_TRUE(FileWriter({.path = second}).write("x", nullptr));
  EXPECT_EQ(FileWriter::rotated_name(at("out.jsonl"), kNow),
            at(std::string("out.") + kTs + "-2.jsonl"));
}

TEST_F(FileWriterTest, RotatesBySize) {
  constexpr uint64_t kMax = 1000;
  std::string err;
  std::string all;
  FileWriter w({.path = at("out.jsonl"), .max_bytes = kMax});
  for (int i = 0; i < 200; ++i) {
    std::string line = json_lines(i, 1);
    all += line;
    ASSERT_TRUE(w.maybe_rotate(kNow, &err)) << err;
    ASSERT_TRUE(w.write(line, &err)) << err;
    ASSERT_TRUE(w.flush(kNow, &err)) << err;
  }
  ASSERT_TRUE(w.close(&err)) << err;

  std::vector<std::string> names = files();
  ASSERT_GE(names.size(), 10u);
  // All rotations happened in the same second, so they are numbered in order.
  std::string joined;
  size_t rotated = 0;
  for (;; ++rotated) {
    std::string name = std::string("out.") + kTs +
                       (rotated ? "-" + std::to_string(rotated) : std::string()) + ".jsonl";
    if (!exists(at(name))) break;
    EXPECT_TRUE(is_rotated_jsonl(name)) << name;
    EXPECT_GE(file_size(at(name)), kMax) << name;
    EXPECT_LT(file_size(at(name)), kMax + 200) << name;  // one line at most past the limit
    joined += testing::read_file(at(name));
  }
  EXPECT_EQ(rotated + 1, names.size());  // the rotated set plus the current file, nothing else
  joined += testing::read_file(at("out.jsonl"));
  EXPECT_EQ(joined, all);  // every byte exactly once, in order
}

TEST_F(FileWriterTest, RotatesByTime) {
  std::string err;
  FileWriter w({.path = at("out.jsonl.gz"),
                .compression = Compression::Gzip,
                .rotate_interval_ns = 60 * kSecond});
  ASSERT_TRUE(w.maybe_rotate(kNow - kSecond, &err)) << err;  // nothing open yet
  ASSERT_TRUE(w.write("first\n", &err)) << err;
  ASSERT_TRUE(w.flush(kNow, &err)) << err;
  ASSERT_TRUE(w.maybe_rotate(kNow + 59 * kSecond, &err)) << err;
  EXPECT_EQ(files(), std::vector<std::string>{"out.jsonl.gz"});
  ASSERT_TRUE(w.maybe_rotate(kNow + 60 * kSecond, &err)) << err;
  EXPECT_FALSE(exists(at("out.jsonl.gz")));
  std::string rotated = "out.20261125T033100Z.jsonl.gz";
  ASSERT_EQ(files(), std::vector<std::string>{rotated});
  int members = 0;
  EXPECT_EQ(gunzip(testing::read_file(at(rotated)), &members), "first\n");
  EXPECT_EQ(members, 1);  // rotation finished the stream

  ASSERT_TRUE(w.write("second\n", &err)) << err;
  ASSERT_TRUE(w.flush(kNow + 61 * kSecond, &err)) << err;
  ASSERT_TRUE(w.maybe_rotate(kNow + 120 * kSecond, &err)) << err;  // 59 s after the new open
  ASSERT_TRUE(w.close(&err)) << err;
  EXPECT_EQ(gunzip(testing::read_file(at("out.jsonl.gz"))), "second\n");
}

TEST_F(FileWriterTest, ReopenAfterRenameCreatesNewFile) {
  std::string err;
  FileWriter w({.path = at("out.jsonl")});
  ASSERT_TRUE(w.write("old\n", &err)) << err;
  ASSERT_TRUE(w.flush(kNow, &err)) << err;
  ASSERT_EQ(::rename(at("out.jsonl").c_str(), at("out.jsonl.1").c_str()), 0);
  ASSERT_TRUE(w.write("late\n", &err)) << err;  // still goes to the renamed file
  w.reopen();
  ASSERT_TRUE(w.write("new\n", &err)) << err;
  EXPECT_EQ(w.bytes_written(), 4u);
  ASSERT_TRUE(w.close(&err)) << err;
  EXPECT_EQ(testing::read_file(at("out.jsonl.1")), "old\nlate\n");
  EXPECT_EQ(testing::read_file(at("out.jsonl")), "new\n");
}

TEST_F(FileWriterTest, FsyncPolicies) {
  std::string err;
  FileWriter never({.path = at("never.log"), .fsync = FileFsync::Never});
  ASSERT_TRUE(never.write("x\n", &err)) << err;
  EXPECT_TRUE(never.flush(kNow, &err)) << err;

  FileWriter always({.path = at("always.log"), .fsync = FileFsync::Always});
  ASSERT_TRUE(always.write("x\n", &err)) << err;
  EXPECT_TRUE(always.flush(kNow, &err)) << err;
  ASSERT_TRUE(always.write("y\n", &err)) << err;
  EXPECT_TRUE(always.flush(kNow + 1, &err)) << err;

  FileWriter interval(
      {.path = at("interval.log"), .fsync = FileFsync::Interval, .fsync_interval_ns = kSecond});
  EXPECT_TRUE(interval.flush(kNow, &err)) << err;  // nothing written: trivially durable
  ASSERT_TRUE(interval.write("a\n", &err)) << err;
  EXPECT_TRUE(interval.flush(kNow, &err)) << err;  // first fsync is not held back
  ASSERT_TRUE(interval.write("b\n", &err)) << err;
  EXPECT_FALSE(interval.flush(kNow + kSecond / 2, &err));
  EXPECT_EQ(testing::read_file(at("interval.log")), "a\nb\n");  // in the kernel nonetheless
  EXPECT_FALSE(interval.flush(kNow + kSecond - 1, &err));
  EXPECT_TRUE(interval.flush(kNow + kSecond, &err)) << err;
  EXPECT_TRUE(interval.flush(kNow + kSecond + 1, &err)) << err;  // nothing new since
  ASSERT_TRUE(interval.write("c\n", &err)) << err;
  EXPECT_FALSE(interval.flush(kNow + kSecond + 2, &err));
  EXPECT_TRUE(interval.flush(kNow + 2 * kSecond, &err)) << err;
}

TEST_F(FileWriterTest, PlainShortWriteIsNotRepeatedOnRetry) {
  std::string err;
  std::string a(600, 'a'), b(600, 'b');
  FileWriter w({.path = at("out.log")});
  ASSERT_TRUE(w.write(a, &err)) << err;
  {
    FileSizeLimit limit(1000);
    EXPECT_FALSE(w.write(b, &err));
    EXPECT_NE(err.find(at("out.log")), std::string::npos) << err;
    EXPECT_EQ(file_size(at("out.log")), 1000u);  // 400 bytes of b made it
    EXPECT_FALSE(w.write(b, &err));
    limit.lift();
    ASSERT_TRUE(w.write(b, &err)) << err;
  }
  ASSERT_TRUE(w.close(&err)) << err;
  EXPECT_EQ(testing::read_file(at("out.log")), a + b);
}

class CompressedTest : public FileWriterTest, public ::testing::WithParamInterface<Compression> {
 protected:
  std::string name() const { return GetParam() == Compression::Gzip ? "out.gz" : "out.zst"; }
  FileWriterOptions options() const { return {.path = at(name()), .compression = GetParam()}; }
};

TEST_P(CompressedTest, FlushMakesOpenFileReadable) {
  std::string err;
  std::string all;
  FileWriter w(options());
  for (int i = 0; i < 3; ++i) {
    std::string chunk = json_lines(i * 1000, 1000);
    all += chunk;
    ASSERT_TRUE(w.write(chunk, &err)) << err;
    ASSERT_TRUE(w.flush(kNow, &err)) << err;
    std::string on_disk = testing::read_file(at(name()));
    EXPECT_EQ(w.bytes_written(), on_disk.size());
    int complete = -1;
    EXPECT_EQ(decompress(GetParam(), on_disk, &complete), all) << "after chunk " << i;
    EXPECT_EQ(complete, 0);
    EXPECT_LT(on_disk.size(), all.size() / 4);  // it did compress
  }
  ASSERT_TRUE(w.close(&err)) << err;
  int complete = 0;
  EXPECT_EQ(decompress(GetParam(), testing::read_file(at(name())), &complete), all);
  EXPECT_EQ(complete, 1);
  EXPECT_EQ(w.bytes_written(), file_size(at(name())));
}

TEST_P(CompressedTest, AppendStartsNewMemberOrFrame) {
  std::string err;
  std::string first = json_lines(0, 500), second = json_lines(500, 500);
  {
    FileWriter w(options());
    ASSERT_TRUE(w.write(first, &err)) << err;
    ASSERT_TRUE(w.close(&err)) << err;
  }
  uint64_t before = file_size(at(name()));
  FileWriter w(options());
  ASSERT_TRUE(w.write(second, &err)) << err;
  ASSERT_TRUE(w.flush(kNow, &err)) << err;
  EXPECT_GT(w.bytes_written(), before);
  ASSERT_TRUE(w.close(&err)) << err;
  EXPECT_EQ(w.bytes_written(), file_size(at(name())));
  int complete = 0;
  EXPECT_EQ(decompress(GetParam(), testing::read_file(at(name())), &complete), first + second);
  EXPECT_EQ(complete, 2);
}

TEST_P(CompressedTest, ReopenFinishesMovedFile) {
  std::string err;
  FileWriter w(options());
  ASSERT_TRUE(w.write("old\n", &err)) << err;
  ASSERT_EQ(::rename(at(name()).c_str(), at("moved").c_str()), 0);
  w.reopen();
  ASSERT_TRUE(w.write("new\n", &err)) << err;
  ASSERT_TRUE(w.close(&err)) << err;
  int complete = 0;
  EXPECT_EQ(decompress(GetParam(), testing::read_file(at("moved")), &complete), "old\n");
  EXPECT_EQ(complete, 1);
  EXPECT_EQ(decompress(GetParam(), testing::read_file(at(name())), &complete), "new\n");
  EXPECT_EQ(complete, 1);
}

TEST_P(CompressedTest, FailedWriteKeepsStreamIntactAndIsNotRepeated) {
  std::string err;
  std::string text = json_lines(0, 300);
  std::string noise = random_bytes(600 * 1024, 42);  // incompressible: overflows the buffer
  FileWriter w(options());
  ASSERT_TRUE(w.write(text, &err)) << err;
  ASSERT_TRUE(w.flush(kNow, &err)) << err;
  {
    FileSizeLimit limit(file_size(at(name())) + 100 * 1024);
    EXPECT_FALSE(w.write(noise, &err));
    EXPECT_NE(err.find(at(name())), std::string::npos) << err;
    EXPECT_FALSE(w.write(noise, &err));  // still full
    EXPECT_FALSE(w.flush(kNow, &err));
    limit.lift();
    ASSERT_TRUE(w.write(noise, &err)) << err;  // same bytes again: only the backlog is written
  }
  ASSERT_TRUE(w.write(text, &err)) << err;
  ASSERT_TRUE(w.close(&err)) << err;
  int complete = 0;
  std::string got = decompress(GetParam(), testing::read_file(at(name())), &complete);
  EXPECT_EQ(complete, 1);
  EXPECT_EQ(got.size(), text.size() * 2 + noise.size());
  EXPECT_TRUE(got == text + noise + text);
}

TEST_P(CompressedTest, RotationBySizeKeepsEveryByte) {
  std::string err;
  FileWriterOptions o = options();
  o.max_bytes = 4096;
  FileWriter w(o);
  std::string all;
  for (int i = 0; i < 40; ++i) {
    std::string chunk = json_lines(i * 200, 200) + random_bytes(1000, i);
    all += chunk;
    ASSERT_TRUE(w.maybe_rotate(kNow + i * kSecond, &err)) << err;
    ASSERT_TRUE(w.write(chunk, &err)) << err;
    ASSERT_TRUE(w.flush(kNow + i * kSecond, &err)) << err;
  }
  ASSERT_TRUE(w.close(&err)) << err;
  std::vector<std::string> names = files();  // timestamps differ, so sorted = rotation order
  ASSERT_GE(names.size(), 3u);
  ASSERT_EQ(names.back(), name());
  std::string joined;
  for (const auto& n : names) {
    int complete = 0;
    joined += decompress(GetParam(), testing::read_file(at(n)), &complete);
    EXPECT_EQ(complete, 1) << n;
  }
  EXPECT_EQ(joined, all);
}

INSTANTIATE_TEST_SUITE_P(Codecs, CompressedTest,
                         ::testing::Values(Compression::Gzip, Compression::Zstd),
                         [](const auto& param_info) {
                           return param_info.param == Compression::Gzip ? "Gzip" : "Zstd";
                         });

}  // namespace
}  // namespace sluice
