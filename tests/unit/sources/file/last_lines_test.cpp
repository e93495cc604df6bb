// start_of_last_lines: where `tail -n N` starts (the file source's `lines_before_end`).
#include "sources/file/file_tailer.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace sluice {
namespace {

class LastLinesTest : public ::testing::Test {
 protected:
  // The text from where the last `lines` lines of `content` begin.
  std::string last_lines(const std::string& content, uint64_t lines) {
    const std::string p = tmp_.at("f.log");
    EXPECT_TRUE(testing::write_file(p, content));
    int fd = ::open(p.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    uint64_t start = start_of_last_lines(fd, content.size(), lines);
    ::close(fd);
    return content.substr(start);
  }

  testing::TempDir tmp_;
};

TEST_F(LastLinesTest, CountsCompleteLinesFromTheEnd) {
  EXPECT_EQ(last_lines("a\nb\nc\n", 2), "b\nc\n");
  EXPECT_EQ(last_lines("a\nb\nc\n", 1), "c\n");
  EXPECT_EQ(last_lines("a\nb\nc\n", 0), "");
}

TEST_F(LastLinesTest, AnUnfinishedLastLineCountsAsOne) {
  EXPECT_EQ(last_lines("a\nb\nc", 1), "c");
  EXPECT_EQ(last_lines("a\nb\nc", 2), "b\nc");
}

TEST_F(LastLinesTest, FewerLinesThanAskedIsTheWholeFile) {
  EXPECT_EQ(last_lines("a\nb\n", 5), "a\nb\n");
  EXPECT_EQ(last_lines("", 3), "");
  EXPECT_EQ(last_lines("\n\n", 2), "\n\n");
  EXPECT_EQ(last_lines("\n\n", 1), "\n");
}

TEST_F(LastLinesTest, LinesAcrossReadChunks) {
  // Lines longer than the 16 KiB read chunk, and a newline exactly at a chunk boundary.
  std::string long_line(20000, 'x');
  std::string content = "first\n" + long_line + "\n" + long_line + "\n";
  EXPECT_EQ(last_lines(content, 2), long_line + "\n" + long_line + "\n");
  std::string boundary = std::string(16383, 'y') + "\n" + std::string(16383, 'z') + "\n";
  EXPECT_EQ(last_lines(boundary, 1), std::string(16383, 'z') + "\n");
  EXPECT_EQ(last_lines(boundary, 2), boundary);
}

}  // namespace
}  // namespace sluice
