#include "config/config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <string_view>

#include "config/yaml_aliases.hpp"
#include "options/config_error.hpp"

namespace sluice {

namespace {

const char* file_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a file";
}

std::string size_text(uint64_t bytes) {
  if (bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

// TOML (`[section]` headers, `key = value` lines) is a common guess for a config format; YAML
// reads it as one long string or fails on it, and neither message says what is wrong.
bool looks_like_toml(std::string_view text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const bool header = line.front() == '[' && line.back() == ']' &&
                        line.find_first_of(",{}\"' ") == std::string_view::npos;
    const size_t eq = line.find(" = ");
    const bool assignment = eq != std::string_view::npos && eq > 0 &&
                            line.substr(0, eq).find_first_of(":[{\"' ") == std::string_view::npos;
    return header || assignment;  // judged by the first line that says something
  }
  return false;
}

[[noreturn]] void fail_toml(const std::string& path) {
  throw ConfigError(path +
                    ": this looks like TOML; sluice reads YAML (JSON is YAML too). Write "
                    "`[sinks.out]` / `type = \"stdout\"` as `sinks:` / `  out: { type: stdout, "
                    "inputs: [app] }`");
}

}  // namespace

std::string read_config_file(const std::string& path, const ConfigLimits& limits) {
  auto fail = [&path](const std::string& why) -> void {
    throw ConfigError(path + ": cannot read the config file: " + why);
  };
  auto fail_errno = [&fail, &path](int error) {
    std::string why = std::strerror(error);
    struct stat link {};
    if (error == ENOENT && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      why += " (a symbolic link to a missing file)";
    } else if (error == ENOENT) {
      why += " (check the path given with -c or in SLUICE_CONFIG)";
    }
    fail(why);
  };
  // Looked at before it is opened: opening a FIFO without a writer, or a device, can block or
  // have side effects. O_NONBLOCK covers what changes in between.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail_errno(errno);
  if (S_ISDIR(st.st_mode)) fail_errno(EISDIR);
  if (!S_ISREG(st.st_mode)) fail(std::string("not a regular file (") + file_kind(st.st_mode) + ")");
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) fail_errno(errno);
  if (::fstat(fd.get(), &st) != 0) fail_errno(errno);
  if (!S_ISREG(st.st_mode)) fail(std::string("not a regular file (") + file_kind(st.st_mode) + ")");
  const std::string limit = "a config file may have at most " + size_text(limits.max_bytes);
  if (static_cast<uint64_t>(st.st_size) > limits.max_bytes) {
    fail("it has " + std::to_string(st.st_size) + " bytes; " + limit);
  }
  // The size may change while it is read (or be 0, as in /proc): read at most one byte more than
  // allowed, to tell.
  std::string text(std::min<uint64_t>(st.st_size, limits.max_bytes) + 1, '\0');
  size_t used = 0;
  while (true) {
    if (used == text.size()) {
      if (used > limits.max_bytes)
        fail("it has more than " + size_text(limits.max_bytes) + "; " + limit);
      text.resize(std::min(text.size() * 2, limits.max_bytes + 1));
    }
    ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(errno);
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  text.resize(used);
  return text;
}

YAML::Node load_config_file(const std::string& path, const ConfigLimits& limits) {
  std::string text = read_config_file(path, limits);
  check_yaml_limits(text, path, limits);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    if (looks_like_toml(text)) fail_toml(path);
    throw ConfigError(path, e.mark.line, e.mark.column, e.msg);
  } catch (const std::bad_alloc&) {
    throw ConfigError(path + ": out of memory while parsing the config file");
  }
  if (root && !root.IsMap() && looks_like_toml(text)) fail_toml(path);
  reject_nul_scalars(root, path);
  check_alias_expansion(root, path, text.size(), limits);
  return root;
}

}  // namespace sluice
