#include "sinks/file/output_path.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

#include "core/safe_names.hpp"

namespace sluice {

namespace {

// A rotated base name gets `.` + 16 characters of time and possibly `-N`.
constexpr size_t kRotationSuffixBytes = 1 + 16 + 8;
constexpr size_t kMaxKeptExtension = 32;

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// The deepest existing ancestor of `path` (at a component boundary): "" for the working
// directory of a relative path, "/" for the root.
std::string deepest_existing_ancestor(const std::string& path) {
  std::string dir = path;
  while (true) {
    size_t slash = dir.rfind('/');
    if (slash == std::string::npos) return "";
    if (slash == 0) return "/";
    dir.resize(slash);
    if (exists(dir)) return dir;
  }
}

// Calls `visit(prefix)` for every proper prefix of `path` that ends at a component (not the root,
// not the path itself) from the top down, until it returns true; returns that prefix or "".
template <typename Visit>
std::string first_ancestor(const std::string& path, Visit visit) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (!prefix.empty() && visit(prefix)) return prefix;
  }
  return "";
}

}  // namespace

std::string parent_dir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

int make_parent_dirs(const std::string& dir, std::string& failed) {
  for (size_t end = 1; end <= dir.size(); ++end) {
    if (end < dir.size() && dir[end] != '/') continue;
    std::string prefix = dir.substr(0, end);
    if (::mkdir(prefix.c_str(), 0755) == 0) continue;
    int err = errno;
    if (err == EEXIST) continue;
    failed = prefix;
    return err;
  }
  return 0;
}

std::string rotated_file_name(const std::string& path, int64_t now_ns) {
  int64_t secs = now_ns / 1'000'000'000;
  if (now_ns % 1'000'000'000 < 0) --secs;  // floor, so pre-1970 instants name the right second
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  char ts[32] = "00000000T000000Z";
  if (gmtime_r(&t, &tm)) std::strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);

  size_t base = path.rfind('/');
  base = base == std::string::npos ? 0 : base + 1;
  // Searching from base + 1: the leading dot of a hidden file is not an extension.
  size_t dot = path.find('.', base + 1);
  std::string stem = path.substr(0, dot);
  std::string ext = dot == std::string::npos ? std::string() : path.substr(dot);
  // A base name near the limit must still fit once the time is added: shorten the stem, and
  // keep a short extension (`.jsonl.gz`), so that the rename cannot fail with ENAMETOOLONG.
  // The same for the whole path near PATH_MAX (deep directories named by values): otherwise the
  // file could never be rotated and would grow without bound.
  constexpr size_t kMaxPathBytes = PATH_MAX - 1;  // without the terminating NUL
  const size_t path_budget =
      kMaxPathBytes > base + kRotationSuffixBytes ? kMaxPathBytes - base - kRotationSuffixBytes : 0;
  const size_t budget = std::min(names::kMaxPathComponentBytes - kRotationSuffixBytes, path_budget);
  if (budget > 0 && stem.size() - base + ext.size() > budget) {
    if (ext.size() > kMaxKeptExtension || ext.size() >= budget) {
      stem = path;
      ext.clear();
    }
    std::string_view name = std::string_view(stem).substr(base);
    stem.resize(base + names::utf8_cut(name, budget - ext.size()));
  }
  for (unsigned n = 0;; ++n) {
    std::string name = stem + '.' + ts;
    if (n > 0) name += '-' + std::to_string(n);
    name += ext;
    // Any lstat failure means the name is usable or that the rename will report the real problem.
    if (!exists(name)) return name;
  }
}

std::string blamed_object(const OpenFailure& failure) {
  const std::string& path = failure.path;
  switch (failure.err) {
    case ENAMETOOLONG: {
      size_t begin = 0;
      while (begin < path.size()) {
        size_t end = path.find('/', begin);
        if (end == std::string::npos) end = path.size();
        if (end - begin > names::kMaxPathComponentBytes) return path.substr(0, end);
        begin = end + 1;
      }
      return path;  // the whole path is over PATH_MAX
    }
    case ENOTDIR:
    case ELOOP: {
      std::string found = first_ancestor(path, [&](const std::string& prefix) {
        struct stat st {};
        if (::stat(prefix.c_str(), &st) != 0) return errno == failure.err;
        return failure.err == ENOTDIR && !S_ISDIR(st.st_mode);
      });
      return found.empty() ? path : found;
    }
    case EACCES:
    case EPERM: {
      // A directory on the way that may not be searched; else the file itself, if it exists
      // (it may not be written); else the directory it was to be created in.
      std::string found = first_ancestor(path, [](const std::string& prefix) {
        return ::faccessat(AT_FDCWD, prefix.c_str(), X_OK, AT_EACCESS) != 0 && errno != ENOENT;
      });
      if (!found.empty()) return found;
      return exists(path) ? path : deepest_existing_ancestor(path);
    }
    case EISDIR:   // the name is a directory
    case ENXIO:    // a FIFO without a reader, a device without its driver
    case ENODEV:   // the same for a device file
    case ETXTBSY:  // a running program
    case EINVAL:   // a name the file system refuses (characters, encoding)
    case EILSEQ:
      return path;
    default:
      return "";  // no space, read-only, I/O, descriptors, memory: never about a name
  }
}

bool failure_is_events(const OpenFailure& failure, std::string_view fixed_prefix) {
  std::string blamed = blamed_object(failure);
  if (blamed.empty()) return false;
  // Strictly below the fixed prefix: the prefix (ending in `/`) and more. An empty prefix is the
  // working directory: any relative path below it.
  if (blamed.size() <= fixed_prefix.size()) return false;
  if (blamed.compare(0, fixed_prefix.size(), fixed_prefix) != 0) return false;
  return !fixed_prefix.empty() || blamed.front() != '/';
}

}  // namespace sluice
