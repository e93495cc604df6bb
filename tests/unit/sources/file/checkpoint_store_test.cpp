#include "sources/file/checkpoint_store.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace sluice {

using testing::TempDir;
namespace {

namespace fs = std::filesystem;

std::vector<std::string> corrupt_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.find(".corrupt-") != std::string::npos) out.push_back(e.path().string());
  }
  return out;
}

CheckpointEntry entry(std::string path, uint64_t offset) {
  CheckpointEntry e;
  e.path = std::move(path);
  e.id = {.dev = 2049, .ino = 1234, .fp_len = 256, .fp_hash = 0x0123456789abcdefULL};
  e.offset = offset;
  e.updated_unix = 1764040000;
  return e;
}

void expect_equal(const std::vector<CheckpointEntry>& a, const std::vector<CheckpointEntry>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].path, b[i].path) << i;
    EXPECT_EQ(a[i].id.dev, b[i].id.dev) << i;
    EXPECT_EQ(a[i].id.ino, b[i].id.ino) << i;
    EXPECT_EQ(a[i].id.fp_len, b[i].id.fp_len) << i;
    EXPECT_EQ(a[i].id.fp_hash, b[i].id.fp_hash) << i;
    EXPECT_EQ(a[i].offset, b[i].offset) << i;
    EXPECT_EQ(a[i].updated_unix, b[i].updated_unix) << i;
  }
}

class CheckpointTest : public ::testing::Test {
 protected:
  std::string data_dir() const { return dir_ + "/data"; }

  // Saves, then loads with a fresh store, expecting success.
  std::vector<CheckpointEntry> round_trip(const std::vector<CheckpointEntry>& in) {
    std::string error;
    CheckpointStore store(data_dir(), "logs");
    EXPECT_TRUE(store.save(in, &error)) << error;
    CheckpointStore again(data_dir(), "logs");
    std::vector<CheckpointEntry> out;
    EXPECT_TRUE(again.load(&out, &error)) << error;
    return out;
  }

  // Writes `text` as the checkpoint file and expects load() to reject it with `what`.
  void expect_rejected(const std::string& text, const std::string& what) {
    CheckpointStore store(data_dir(), "logs");
    fs::create_directories(store.directory());
    testing::write_file(store.path(), text);
    std::vector<CheckpointEntry> entries{entry("/stale", 1)};
    std::string error;
    EXPECT_FALSE(store.load(&entries, &error)) << text;
    EXPECT_TRUE(entries.empty());
    EXPECT_NE(error.find(what), std::string::npos) << error;
    EXPECT_NE(error.find(store.path()), std::string::npos) << error;
    // Moved aside, keeping its content; the next load starts fresh.
    std::vector<std::string> aside = corrupt_files(store.directory());
    ASSERT_EQ(aside.size(), 1u) << error;
    EXPECT_NE(error.find(aside[0]), std::string::npos) << error;
    EXPECT_EQ(testing::read_file(aside[0]), text);
    EXPECT_FALSE(fs::exists(store.path()));
    EXPECT_TRUE(store.load(&entries, &error)) << error;
    fs::remove(aside[0]);
  }

  TempDir tmp_{"sluice-ckpt"};
  std::string dir_ = tmp_.path();
};

TEST_F(CheckpointTest, MissingFileIsEmpty) {
  CheckpointStore store(data_dir(), "logs");
  EXPECT_EQ(store.path(), data_dir() + "/checkpoints/logs.json");
  std::vector<CheckpointEntry> entries{entry("/stale", 1)};
  std::string error;
  EXPECT_TRUE(store.load(&entries, &error)) << error;
  EXPECT_TRUE(entries.empty());
  // Loading does not create anything.
  EXPECT_FALSE(fs::exists(data_dir()));
}

TEST_F(CheckpointTest, RoundTripOddPathsAndLargeNumbers) {
  std::vector<CheckpointEntry> in;
  in.push_back(entry("/var/log/app.log", 0));
  in.push_back(entry("/var/log/with \"quotes\" and \\backslash\\ and\ttab\nnewline.log", 7));
  in.push_back(entry("/var/log/unicode-\xc3\xa9\xe2\x82\xac-\xf0\x9f\x98\x80.log", 8));
  in.push_back(entry(std::string("/var/log/invalid-utf8-\xff\xfe-\xc3(-\x80.log"), 9));
  in.push_back(entry(std::string("/ctl-\x01\x1f\x7f"), 10));
  in.push_back(entry(std::string("/nul-\0-inside", 13), 11));
  in.push_back(entry("", 12));
  CheckpointEntry big = entry("/big", std::numeric_limits<uint64_t>::max());
  big.id = {.dev = std::numeric_limits<uint64_t>::max(),
            .ino = (uint64_t{1} << 53) + 1,
            .fp_len = kFingerprintBytes,
            .fp_hash = 0xFFFFFFFFFFFFFFFFULL};
  big.updated_unix = std::numeric_limits<int64_t>::min();
  in.push_back(big);
  CheckpointEntry zero = entry("/zero", 0);
  zero.id = {};
  zero.updated_unix = std::numeric_limits<int64_t>::max();
  in.push_back(zero);
  expect_equal(round_trip(in), in);
  expect_equal(round_trip({}), {});
}

TEST_F(CheckpointTest, FileIsReadableJson) {
  CheckpointStore store(data_dir(), "logs");
  std::string error;
  ASSERT_TRUE(store.save({entry("/var/log/a.log", 42)}, &error)) << error;
  EXPECT_EQ(testing::read_file(store.path()),
            "{\"version\":1,\"files\":[\n"
            "{\"path\":\"/var/log/a.log\",\"dev\":2049,\"ino\":1234,\"fp_len\":256,"
            "\"fp_hash\":\"0123456789abcdef\",\"offset\":42,\"updated_unix\":1764040000}\n"
            "]}\n");
}

TEST_F(CheckpointTest, SourceNamesCannotEscapeTheDirectory) {
  EXPECT_EQ(CheckpointStore("/d", "../../etc/passwd").path(),
            "/d/checkpoints/%2e.%2f..%2fetc%2fpasswd.json");
  EXPECT_EQ(CheckpointStore("/d/", "app_1-x.y").path(), "/d/checkpoints/app_1-x.y.json");
  EXPECT_EQ(CheckpointStore("/d", "").path(), "/d/checkpoints/_.json");
}

TEST_F(CheckpointTest, StaleTmpIsIgnoredAndReplaced) {
  CheckpointStore store(data_dir(), "logs");
  std::string error;
  ASSERT_TRUE(store.save({entry("/a", 1)}, &error)) << error;
  // A crash between writing the .tmp and renaming it leaves garbage behind.
  testing::write_file(store.path() + ".tmp", "{\"version\":1,\"files\":[{\"trunc");
  std::vector<CheckpointEntry> loaded;
  ASSERT_TRUE(store.load(&loaded, &error)) << error;
  expect_equal(loaded, {entry("/a", 1)});
  ASSERT_TRUE(store.save({entry("/a", 2)}, &error)) << error;
  EXPECT_FALSE(fs::exists(store.path() + ".tmp"));
  ASSERT_TRUE(store.load(&loaded, &error)) << error;
  expect_equal(loaded, {entry("/a", 2)});

  // A symlink planted at the .tmp path is replaced, never written through.
  testing::write_file(dir_ + "/victim", "keep");
  ASSERT_EQ(::symlink((dir_ + "/victim").c_str(), (store.path() + ".tmp").c_str()), 0);
  ASSERT_TRUE(store.save({entry("/a", 3)}, &error)) << error;
  EXPECT_EQ(testing::read_file(dir_ + "/victim"), "keep");
}

TEST_F(CheckpointTest, CorruptFilesAreRejectedAndMovedAside) {
  expect_rejected("this is not json", "not valid JSON");
  expect_rejected("", "empty file");
  expect_rejected("[1,2]", "not a JSON object");
  expect_rejected("{\"files\":[]}", "missing \"version\"");
  expect_rejected("{\"version\":\"1\",\"files\":[]}", "\"version\" is not an integer");
  expect_rejected("{\"version\":2,\"files\":[]}", "unsupported version 2");
  expect_rejected("{\"version\":1}", "missing \"files\"");
  expect_rejected("{\"version\":1,\"files\":{}}", "\"files\" is not an array");
  expect_rejected("{\"version\":1,\"files\":[3]}", "files[0] is not an object");
  const std::string good =
      "{\"path\":\"/a\",\"dev\":1,\"ino\":2,\"fp_len\":3,\"fp_hash\":\"ff\",\"offset\":4,"
      "\"updated_unix\":5}";
  auto with = [&](const std::string& from, const std::string& to) {
    std::string e = good;
    e.replace(e.find(from), from.size(), to);
    return "{\"version\":1,\"files\":[" + good + "," + e + "]}";
  };
  expect_rejected(with("\"offset\":4", "\"offset\":-4"), "files[1]: \"offset\" is not an unsigned");
  expect_rejected(with("\"offset\":4", "\"offset\":4.5"), "\"offset\" is not an unsigned");
  expect_rejected(with("\"ino\":2,", ""), "files[1]: missing \"ino\"");
  expect_rejected(with("\"path\":\"/a\"", "\"path\":7"), "\"path\" is not a string");
  expect_rejected(with("\"fp_hash\":\"ff\"", "\"fp_hash\":255"), "\"fp_hash\" is not a string");
  expect_rejected(with("\"ff\"", "\"xyz\""), "\"fp_hash\" is not 1 to 16 hex");
  expect_rejected(with("\"ff\"", "\"12345678901234567\""), "\"fp_hash\" is not 1 to 16 hex");
  expect_rejected(with("\"fp_len\":3", "\"fp_len\":257"), "\"fp_len\" is 257");
  expect_rejected(with("\"updated_unix\":5", "\"updated_unix\":true"), "\"updated_unix\"");
  expect_rejected(with("\"path\":\"/a\"", "\"path\":\"/a\",\"path_hex\":\"2f6\""), "path_hex");
  expect_rejected(with("\"dev\":1", "\"dev\":18446744073709551616"), "not valid JSON");
}

TEST_F(CheckpointTest, TruncatedFileIsRejected) {
  CheckpointStore store(data_dir(), "logs");
  std::string error;
  std::vector<CheckpointEntry> in;
  in.reserve(20);
  for (int i = 0; i < 20; ++i) in.push_back(entry("/var/log/f" + std::to_string(i), i));
  ASSERT_TRUE(store.save(in, &error)) << error;
  const std::string full = testing::read_file(store.path());
  // Every cut of the file (a torn write without our fsync) is rejected, never half-loaded.
  for (size_t cut = 0; cut < full.size() - 2; cut += 7) {
    expect_rejected(full.substr(0, cut), "checkpoint file");
  }
}

TEST_F(CheckpointTest, SeveralCorruptFilesAreAllKept) {
  CheckpointStore store(data_dir(), "logs");
  fs::create_directories(store.directory());
  std::string error;
  std::vector<CheckpointEntry> entries;
  for (int i = 0; i < 3; ++i) {
    testing::write_file(store.path(), "garbage " + std::to_string(i));
    EXPECT_FALSE(store.load(&entries, &error));
  }
  EXPECT_EQ(corrupt_files(store.directory()).size(), 3u);
}

TEST_F(CheckpointTest, DirectoryInTheWayIsReported) {
  CheckpointStore store(data_dir(), "logs");
  fs::create_directories(store.path());
  std::vector<CheckpointEntry> entries;
  std::string error;
  EXPECT_FALSE(store.load(&entries, &error));
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
  // Moved aside, so saving works again.
  EXPECT_TRUE(store.save({entry("/a", 1)}, &error)) << error;
}

TEST_F(CheckpointTest, FailedSaveKeepsThePreviousCheckpoint) {
  CheckpointStore store(data_dir(), "logs");
  std::string error;
  ASSERT_TRUE(store.save({entry("/a", 1)}, &error)) << error;
  const std::string before = testing::read_file(store.path());

  // A write that fails half-way (EFBIG stands in for ENOSPC; it works as root too).
  std::vector<CheckpointEntry> many;
  many.reserve(1000);
  for (int i = 0; i < 1000; ++i) many.push_back(entry("/var/log/file-" + std::to_string(i), i));
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const bool saved = store.save(many, &error);
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(saved);
  EXPECT_NE(error.find("cannot write"), std::string::npos) << error;
  EXPECT_NE(error.find("File too large"), std::string::npos) << error;
  EXPECT_EQ(testing::read_file(store.path()), before);
  EXPECT_FALSE(fs::exists(store.path() + ".tmp"));

  // The checkpoint directory cannot be created: a file is in the way.
  CheckpointStore blocked(dir_ + "/a-file", "logs");
  testing::write_file(dir_ + "/a-file", "x");
  EXPECT_FALSE(blocked.save({entry("/a", 1)}, &error));
  EXPECT_NE(error.find("cannot create directory"), std::string::npos) << error;

  std::vector<CheckpointEntry> loaded;
  ASSERT_TRUE(store.load(&loaded, &error)) << error;
  expect_equal(loaded, {entry("/a", 1)});
}

TEST_F(CheckpointTest, SaveIntoReadOnlyDirectoryFailsCleanly) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes into read-only directories";
  CheckpointStore store(data_dir(), "logs");
  std::string error;
  ASSERT_TRUE(store.save({entry("/a", 1)}, &error)) << error;
  ASSERT_EQ(::chmod(store.directory().c_str(), 0555), 0);
  EXPECT_FALSE(store.save({entry("/a", 2)}, &error));
  EXPECT_NE(error.find("Permission denied"), std::string::npos) << error;
  std::vector<CheckpointEntry> loaded;
  ASSERT_TRUE(store.load(&loaded, &error)) << error;
  expect_equal(loaded, {entry("/a", 1)});
}

TEST(CheckpointPrune, DropsOnlyOldEntries) {
  const int64_t now = 1764040000;
  std::vector<CheckpointEntry> entries{entry("/old", 1), entry("/edge", 2), entry("/new", 3),
                                       entry("/future", 4)};
  entries[0].updated_unix = now - kDefaultCheckpointMaxAgeSeconds - 1;
  entries[1].updated_unix = now - kDefaultCheckpointMaxAgeSeconds;
  entries[2].updated_unix = now - 10;
  entries[3].updated_unix = now + 3600;  // the clock went back: keep
  EXPECT_EQ(prune_checkpoints(entries, now), 1u);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].path, "/edge");
  EXPECT_EQ(prune_checkpoints(entries, now, 5), 2u);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].path, "/future");
}

TEST(CheckpointParse, UnknownFieldsAreIgnored) {
  std::vector<CheckpointEntry> entries;
  std::string error;
  ASSERT_TRUE(parse_checkpoints(
      "{\"version\":1,\"comment\":\"x\",\"files\":[{\"path\":\"/a\",\"dev\":1,\"ino\":2,"
      "\"fp_len\":3,\"fp_hash\":\"FF\",\"offset\":4,\"updated_unix\":-5,\"extra\":[1]}]}",
      &entries, &error))
      << error;
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].id.fp_hash, 0xFFu);
  EXPECT_EQ(entries[0].updated_unix, -5);
}

}  // namespace
}  // namespace sluice
