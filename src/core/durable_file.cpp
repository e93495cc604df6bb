#include "core/durable_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/io.hpp"

namespace sluice {

namespace {
std::string errno_text(int err) { return std::strerror(err); }
constexpr char kHex[] = "0123456789abcdef";
}  // namespace

bool make_dirs(const std::string& dir, std::string* error) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0755) == 0) {
      const size_t slash = part.rfind('/');
      const std::string parent =
          slash == std::string::npos ? "." : part.substr(0, std::max<size_t>(slash, 1));
      std::string ignored;
      (void)sync_dir(parent, &ignored);
    } else if (errno != EEXIST) {
      *error = "cannot create directory " + part + ": " + errno_text(errno);
      return false;
    }
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    *error = "cannot create directory " + dir + ": " + errno_text(errno);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    *error = "cannot create directory " + dir + ": " + errno_text(ENOTDIR);
    return false;
  }
  return true;
}

bool sync_dir(const std::string& dir, std::string* error) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    *error = "cannot sync directory " + dir + ": " + errno_text(err);
    return false;
  }
  ::close(fd);
  return true;
}

bool replace_file(const std::string& dir, const std::string& path, std::string_view data,
                  std::string* error) {
  const std::string tmp_path = path + ".tmp";
  // A .tmp left by a crash is stale by definition: remove it, then create exclusively.
  if (::unlink(tmp_path.c_str()) != 0 && errno != ENOENT) {
    *error = "cannot remove stale " + tmp_path + ": " + errno_text(errno);
    return false;
  }
  const int fd =
      ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    *error = "cannot create " + tmp_path + ": " + errno_text(errno);
    return false;
  }
  const char* step = nullptr;
  if (!write_all(fd, data)) {
    step = "write";
  } else if (::fsync(fd) != 0) {
    step = "fsync";
  }
  int err = errno;
  if (::close(fd) != 0 && !step) {
    step = "close";
    err = errno;
  }
  if (!step && ::rename(tmp_path.c_str(), path.c_str()) != 0) {
    step = "rename";
    err = errno;
  }
  if (step) {
    ::unlink(tmp_path.c_str());
    *error = std::string("cannot ") + step + " " + tmp_path + ": " + errno_text(err) +
             " (previous version of " + path + " kept)";
    return false;
  }
  // The rename is durable only once the directory is synced.
  std::string dir_error;
  if (!sync_dir(dir, &dir_error)) {
    *error = path + " written, but " + dir_error;
    return false;
  }
  return true;
}

std::string component_file_name(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || (c == '.' && i > 0);
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  if (out.empty()) out = "_";
  return out;
}

}  // namespace sluice
