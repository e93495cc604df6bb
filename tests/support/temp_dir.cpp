#include "support/temp_dir.hpp"

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace sluice::testing {

namespace fs = std::filesystem;

TempDir::TempDir(std::string_view prefix) {
  std::string pattern = (fs::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  path_ = pattern;
}

namespace {

// Tests take permissions away (unreadable directories, read-only checkpoints): give each
// directory its owner's rights back before entering it, or remove_all could not clean up.
void restore_permissions(const fs::path& dir) {
  std::error_code ec;
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) restore_permissions(it->path());
  }
}

}  // namespace

TempDir::~TempDir() {
  restore_permissions(path_);
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::at(std::string_view relative) const {
  return path_ + "/" + std::string(relative);
}

}  // namespace sluice::testing
