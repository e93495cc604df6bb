#pragma once
// A fresh directory for one test (or one test suite), removed with everything in it when the
// object goes. It lives under $TMPDIR (std::filesystem::temp_directory_path), never a fixed path.
#include <string>
#include <string_view>

namespace sluice::testing {

class TempDir {
 public:
  // `prefix` names the directory (e.g. "sluice-glob") so that a leftover one says whose it is.
  explicit TempDir(std::string_view prefix = "sluice-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  // `relative` below the directory ("a/b.log" → "<dir>/a/b.log").
  [[nodiscard]] std::string at(std::string_view relative) const;

 private:
  std::string path_;
};

}  // namespace sluice::testing
