// A rescan of the file source's globs over 1,000 files, plain and (as in /var/log/containers)
// symbolic links: rescans run every second, so one should stay well under 10 ms. Moved here
// from the unit tests, where a wall-clock bound failed on a loaded machine.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "sources/file/glob.hpp"

namespace sluice {
namespace {

// 1,000 files in <dir>/many and 1,000 symlinks to them in <dir>/links; removed at exit.
class GlobTree {
 public:
  GlobTree() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sluice-glob-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    dir_ = pattern;
    std::filesystem::create_directories(dir_ / "many");
    std::filesystem::create_directories(dir_ / "links");
    for (int i = 0; i < 1000; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "app-%04d.log", i);
      std::ofstream(dir_ / "many" / name).put('\n');
      std::filesystem::create_symlink(dir_ / "many" / name, dir_ / "links" / name);
    }
  }
  ~GlobTree() { std::filesystem::remove_all(dir_); }
  GlobTree(const GlobTree&) = delete;
  GlobTree& operator=(const GlobTree&) = delete;
  [[nodiscard]] std::string glob(const char* sub) const { return (dir_ / sub / "*.log").string(); }

 private:
  std::filesystem::path dir_;
};

void BM_GlobScan(benchmark::State& state, const char* sub) {
  static const GlobTree tree;
  std::string error;
  auto matcher = PathMatcher::create({tree.glob(sub)}, {"*.gz"}, &error);
  if (!matcher) {
    state.SkipWithError(error.c_str());
    return;
  }
  size_t found = 0;
  for (auto _ : state) {
    found = matcher->scan().size();
    benchmark::DoNotOptimize(found);
  }
  if (found != 1000) state.SkipWithError("the scan did not find the 1,000 files");
}
BENCHMARK_CAPTURE(BM_GlobScan, files, "many")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_GlobScan, symlinks, "links")->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sluice
