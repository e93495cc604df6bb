#include "sinks/dead_letter.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace sluice {

using testing::TempDir;
namespace {

class DeadLetterTest : public ::testing::Test {
 protected:
  TempDir tmp_{"sluice-dlq"};
  std::string dir_ = tmp_.path();
};

TEST_F(DeadLetterTest, PathIsBelowDataDirAndNameCannotEscape) {
  EXPECT_EQ(DeadLetterWriter::path_for("/var/lib/sluice", "kafka"),
            "/var/lib/sluice/dead-letter/kafka.jsonl");
  EXPECT_EQ(DeadLetterWriter::path_for("/d/", "a/b"), "/d/dead-letter/a_b.jsonl");
  EXPECT_EQ(DeadLetterWriter::path_for("", ".."), "./dead-letter/_...jsonl");
}

TEST_F(DeadLetterTest, NoFileUntilTheFirstRecord) {
  DeadLetterWriter writer(dir_ + "/data", "k");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/data"));
  EXPECT_EQ(writer.written(), 0u);
}

TEST_F(DeadLetterTest, WritesOneEscapedJsonLinePerRecord) {
  DeadLetterWriter writer(dir_ + "/data", "kafka");
  std::string error;
  // 2024-05-01T10:00:01.5Z
  int64_t t = 1714557601'500000000;
  ASSERT_TRUE(writer.write("topic", "logs", "MSG_SIZE_TOO_LARGE: too big",
                           "{\"msg\":\"a \\\"quoted\\\" line\"}\n", t, &error))
      << error;
  ASSERT_TRUE(writer.write("index", "idx-1", "400", "raw\tline\x01", t, &error)) << error;
  EXPECT_EQ(writer.written(), 2u);
  EXPECT_EQ(writer.path(), dir_ + "/data/dead-letter/kafka.jsonl");
  EXPECT_EQ(testing::read_file(writer.path()),
            "{\"time\":\"2024-05-01T10:00:01.500000000Z\",\"sink\":\"kafka\",\"topic\":\"logs\","
            "\"error\":\"MSG_SIZE_TOO_LARGE: too big\","
            "\"event\":\"{\\\"msg\\\":\\\"a \\\\\\\"quoted\\\\\\\" line\\\"}\"}\n"
            "{\"time\":\"2024-05-01T10:00:01.500000000Z\",\"sink\":\"kafka\",\"index\":\"idx-1\","
            "\"error\":\"400\",\"event\":\"raw\\tline\\u0001\"}\n");
}

TEST_F(DeadLetterTest, AppendsAcrossWriters) {
  std::string error;
  {
    DeadLetterWriter writer(dir_, "s");
    ASSERT_TRUE(writer.write("topic", "t", "e", "one", 0, &error));
  }
  DeadLetterWriter writer(dir_, "s");
  ASSERT_TRUE(writer.write("topic", "t", "e", "two", 0, &error));
  std::string text = testing::read_file(writer.path());
  EXPECT_NE(text.find("\"one\""), std::string::npos);
  EXPECT_NE(text.find("\"two\""), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
}

TEST_F(DeadLetterTest, ReportsAnUncreatableDirectory) {
  std::ofstream(dir_ + "/file") << "x";  // a file where the data dir should be
  DeadLetterWriter writer(dir_ + "/file", "s");
  std::string error;
  EXPECT_FALSE(writer.write("topic", "t", "e", "x", 0, &error));
  EXPECT_NE(error.find("dead-letter"), std::string::npos) << error;
  EXPECT_EQ(writer.written(), 0u);
}

}  // namespace
}  // namespace sluice
