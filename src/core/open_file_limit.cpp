#include "core/open_file_limit.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>

#include "base/log.hpp"

namespace sluice {

namespace {

// The kernel's ceiling for RLIMIT_NOFILE (fs.nr_open): what an unlimited hard limit means.
rlim_t kernel_open_file_ceiling() {
  std::ifstream in("/proc/sys/fs/nr_open");
  rlim_t value = 0;
  if (in >> value && value > 0) return value;
  return 1 << 20;  // the kernel's default nr_open
}

// Written once by raise_open_file_limit() before any thread exists; read-only afterwards.
bool g_raised = false;
rlimit g_original{};

}  // namespace

bool original_open_file_limit(rlimit* limit) {
  if (!g_raised) return false;
  *limit = g_original;
  return true;
}

void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    log::warn("cannot read the open-files limit", "error", std::strerror(errno));
    return;
  }
  rlim_t target = limit.rlim_max;
  if (target == RLIM_INFINITY) target = kernel_open_file_ceiling();
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur >= target) return;
  const rlim_t before = limit.rlim_cur;
  const rlimit original = limit;
  limit.rlim_cur = target;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    log::warn("cannot raise the open-files limit", "soft", before, "hard", limit.rlim_max, "error",
              std::strerror(errno));
    return;
  }
  g_original = original;
  g_raised = true;
  log::info("open-files limit raised to the hard limit", "from", before, "to", target);
}

size_t open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur == RLIM_INFINITY) return static_cast<size_t>(kernel_open_file_ceiling());
  return static_cast<size_t>(std::min<rlim_t>(limit.rlim_cur, SIZE_MAX));
}

size_t reserved_descriptors(size_t limit) { return std::min(kReservedDescriptors, limit / 2); }

size_t file_source_descriptor_share(size_t limit, size_t file_sources) {
  const size_t available = limit - reserved_descriptors(limit);
  return std::max<size_t>(1, available / std::max<size_t>(1, file_sources));
}

}  // namespace sluice
