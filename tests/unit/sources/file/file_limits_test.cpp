// The file source's resource limits: its share of the open-files limit, and which files get
// per-file metric series when there are more than the cap.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/open_file_limit.hpp"
#include "server/metrics_report.hpp"

namespace sluice {
namespace {

TEST(OpenFileLimit, FileSourcesShareWhatTheReserveLeaves) {
  EXPECT_EQ(file_source_descriptor_share(1024, 1), 1024u - kReservedDescriptors);
  EXPECT_EQ(file_source_descriptor_share(1024, 2), (1024u - kReservedDescriptors) / 2);
  EXPECT_EQ(file_source_descriptor_share(1u << 20, 1), (1u << 20) - kReservedDescriptors);
  // A tiny limit keeps half for everything else, and every source gets at least one.
  EXPECT_EQ(reserved_descriptors(64), 32u);
  EXPECT_EQ(file_source_descriptor_share(64, 1), 32u);
  EXPECT_EQ(file_source_descriptor_share(64, 100), 1u);
  EXPECT_EQ(file_source_descriptor_share(0, 0), 1u);
}

TEST(OpenFileLimit, RaisingKeepsTheLimitAtLeastWhereItWas) {
  size_t before = open_file_limit();
  raise_open_file_limit();
  EXPECT_GE(open_file_limit(), before);
}

std::vector<std::string> paths(const std::vector<const FileStatus*>& files) {
  std::vector<std::string> out;
  for (const FileStatus* f : files) out.push_back(f->path);
  return out;
}

TEST(FileSeries, TheFilesFurthestBehindMostFirst) {
  std::vector<FileStatus> files = {
      {"/a", 10, 10, 10},     // caught up
      {"/b", 0, 0, 500},      // 500 behind
      {"/c", 100, 50, 300},   // 250 behind
      {"/d", 10, 10, 5},      // truncated below its checkpoint: not behind
      {"/e", 900, 400, 900},  // 500 behind: ties with /b, by path
  };
  EXPECT_EQ(paths(files_furthest_behind(files, 3)), (std::vector<std::string>{"/b", "/e", "/c"}));
  EXPECT_EQ(paths(files_furthest_behind(files, 10)),
            (std::vector<std::string>{"/b", "/e", "/c", "/a", "/d"}));
  EXPECT_TRUE(files_furthest_behind(files, 0).empty());
  EXPECT_TRUE(files_furthest_behind({}, 5).empty());
}

TEST(FileSeries, CappedAtTheLimitOutOfThousands) {
  std::vector<FileStatus> files;
  for (int i = 0; i < 10000; ++i) {
    files.push_back({"/f" + std::to_string(i), 0, 0, static_cast<uint64_t>(i)});
  }
  auto chosen = files_furthest_behind(files, kMaxFileSeries);
  ASSERT_EQ(chosen.size(), kMaxFileSeries);
  EXPECT_EQ(chosen.front()->path, "/f9999");
  EXPECT_EQ(chosen.back()->path, "/f" + std::to_string(10000 - kMaxFileSeries));
}

}  // namespace
}  // namespace sluice
