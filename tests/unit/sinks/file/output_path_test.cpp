// Whose fault a failed create/open of a file sink's output is (the event's, when event data chose
// the failing name; the sink's otherwise), and rotated names that always fit.
#include "sinks/file/output_path.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "base/json_writer.hpp"
#include "sinks/file/file_writer.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace sluice {

using testing::TempDir;
namespace {

class OutputPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir(at("out").c_str(), 0755), 0);
    prefix_ = at("out/");
  }
  [[nodiscard]] std::string at(const std::string& name) const { return tmp_.at(name); }
  void touch(const std::string& name) const { ASSERT_TRUE(testing::touch(at(name))); }
  // What the file sink sees: the error of FileWriter::write for `relative` below the test's
  // directory.
  OpenFailure failure_writing(const std::string& relative) const {
    FileWriter w({.path = at(relative)});
    std::string error;
    EXPECT_FALSE(w.write("x\n", &error));
    return w.open_failure();
  }

  TempDir tmp_{"sluice-output-path"};
  std::string prefix_;
};

TEST_F(OutputPathTest, ANameThatIsADirectoryIsTheEventsFault) {
  ASSERT_EQ(::mkdir(at("out/taken").c_str(), 0755), 0);
  OpenFailure f = failure_writing("out/taken");
  EXPECT_EQ(f.err, EISDIR);
  EXPECT_EQ(blamed_object(f), at("out/taken"));
  EXPECT_TRUE(failure_is_events(f, prefix_));
  // The same file under a fixed path is the configuration's.
  EXPECT_FALSE(failure_is_events(f, at("out/taken")));
}

TEST_F(OutputPathTest, APathThroughAFileIsTheEventsFaultBelowThePrefixOnly) {
  touch("out/file");
  OpenFailure f = failure_writing("out/file/x.log");
  EXPECT_EQ(f.err, ENOTDIR);
  EXPECT_EQ(blamed_object(f), at("out/file"));
  EXPECT_TRUE(failure_is_events(f, prefix_));

  // The template's own directory is a file: every event fails alike; the sink must wait.
  touch("blocked");
  f = failure_writing("blocked/app/x.log");
  EXPECT_EQ(f.err, ENOTDIR);
  EXPECT_EQ(blamed_object(f), at("blocked"));
  EXPECT_FALSE(failure_is_events(f, at("blocked/")));
}

TEST_F(OutputPathTest, PermissionIsBlamedOnTheDirectoryThatRefuses) {
  // Creating `new` in the prefix directory was refused: the directory's (the sink's) problem.
  OpenFailure f{EACCES, at("out/new")};
  EXPECT_EQ(blamed_object(f), at("out"));
  EXPECT_FALSE(failure_is_events(f, prefix_));
  // Creating a file in a directory named by a value was refused: that value's problem.
  ASSERT_EQ(::mkdir(at("out/locked").c_str(), 0755), 0);
  f = {EACCES, at("out/locked/x.log")};
  EXPECT_EQ(blamed_object(f), at("out/locked"));
  EXPECT_TRUE(failure_is_events(f, prefix_));
  // An existing file that may not be written.
  touch("out/ro.log");
  f = {EACCES, at("out/ro.log")};
  EXPECT_EQ(blamed_object(f), at("out/ro.log"));
  EXPECT_TRUE(failure_is_events(f, prefix_));
  // A relative template: the working directory is the prefix.
  f = {EACCES, "sluice-no-such-name.log"};
  EXPECT_EQ(blamed_object(f), "");
  EXPECT_FALSE(failure_is_events(f, ""));
}

TEST_F(OutputPathTest, ANameTooLongIsBlamedOnItsComponent) {
  std::string long_name(300, 'n');
  OpenFailure f = failure_writing("out/" + long_name + "/x.log");
  EXPECT_EQ(f.err, ENAMETOOLONG);
  EXPECT_EQ(blamed_object(f), at("out/" + long_name));
  EXPECT_TRUE(failure_is_events(f, prefix_));
  // The long component in the configured part.
  f = {ENAMETOOLONG, at(long_name + "/a/x.log")};
  EXPECT_FALSE(failure_is_events(f, at(long_name + "/")));
}

TEST_F(OutputPathTest, ResourceAndDeviceErrorsAreAlwaysTheSinks) {
  for (int err : {ENOSPC, EDQUOT, EIO, EMFILE, ENFILE, EROFS, ENOMEM, ENOENT}) {
    OpenFailure f{err, at("out/a/b.log")};
    EXPECT_EQ(blamed_object(f), "") << err;
    EXPECT_FALSE(failure_is_events(f, prefix_)) << err;
  }
}

TEST_F(OutputPathTest, AFifoWithoutAReaderFailsInsteadOfBlocking) {
  ASSERT_EQ(::mkfifo(at("out/fifo").c_str(), 0644), 0);
  OpenFailure f = failure_writing("out/fifo");
  EXPECT_EQ(f.err, ENXIO);
  EXPECT_TRUE(failure_is_events(f, prefix_));
}

TEST_F(OutputPathTest, RotatedNamesOfLongNamesStillFit) {
  constexpr int64_t kNow = 1795577400LL * 1'000'000'000;  // 2026-11-25T03:30:00Z
  std::string stem(249, 's');
  std::string rotated = rotated_file_name(at("out/" + stem + ".jsonl"), kNow);
  std::string base = rotated.substr(rotated.rfind('/') + 1);
  EXPECT_LE(base.size(), 255u);
  EXPECT_EQ(base.substr(base.size() - 6), ".jsonl");
  EXPECT_NE(base.find(".20261125T033000Z"), std::string::npos);
  // Multi-byte characters are not cut in half; a long "extension" is not kept.
  std::string wide;
  while (wide.size() < 250) wide += "語";
  rotated = rotated_file_name(at("out/x." + wide), kNow);
  base = rotated.substr(rotated.rfind('/') + 1);
  EXPECT_LE(base.size(), 255u);
  EXPECT_TRUE(is_valid_utf8(base));
  // Short names as before.
  EXPECT_EQ(rotated_file_name("out.jsonl", kNow), "out.20261125T033000Z.jsonl");
}

}  // namespace
}  // namespace sluice
