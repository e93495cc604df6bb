#include "sources/file/inotify_watcher.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.hpp"

namespace sluice {

namespace {
constexpr uint32_t kFileMask = IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF;
constexpr uint32_t kDirMask = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE;
}  // namespace

InotifyWatcher::InotifyWatcher() {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    log::warn("inotify unavailable; polling files instead", "error", std::strerror(errno));
  }
}

InotifyWatcher::~InotifyWatcher() {
  if (fd_ >= 0) ::close(fd_);
}

int InotifyWatcher::watch_file(const std::string& path) {
  if (fd_ < 0) return -1;
  int wd = inotify_add_watch(fd_, path.c_str(), kFileMask);
  if (wd < 0) {
    if (errno == ENOSPC) {
      // Thousands of files past the limit would each say so: once a minute is enough.
      static log::RateLimit limit(60'000'000'000);
      uint64_t suppressed = 0;
      if (limit.allow(&suppressed)) {
        log::warn("inotify watch limit reached; polling files instead", "path", path, "suppressed",
                  suppressed, "hint", "raise fs.inotify.max_user_watches");
      }
    }
    return -1;
  }
  ++file_refs_[wd];
  return wd;
}

void InotifyWatcher::unwatch(int wd) {
  if (fd_ < 0 || wd < 0) return;
  auto it = file_refs_.find(wd);
  if (it == file_refs_.end()) return;
  if (--it->second > 0) return;
  file_refs_.erase(it);
  // Directory watches may share the descriptor only if a directory were tailed: never.
  inotify_rm_watch(fd_, wd);
}

void InotifyWatcher::watch_dirs(const std::vector<std::string>& dirs) {
  if (fd_ < 0) return;
  std::unordered_map<std::string, int> next;
  for (const auto& dir : dirs) {
    auto it = dir_wds_.find(dir);
    if (it != dir_wds_.end()) {
      next.emplace(dir, it->second);
      dir_wds_.erase(it);
      continue;
    }
    int wd = inotify_add_watch(fd_, dir.c_str(), kDirMask | IN_ONLYDIR);
    if (wd >= 0) {
      next.emplace(dir, wd);
      dir_set_[wd] = true;
    }
  }
  for (const auto& [dir, wd] : dir_wds_) {
    inotify_rm_watch(fd_, wd);
    dir_set_.erase(wd);
  }
  dir_wds_ = std::move(next);
}

InotifyWatcher::Changes InotifyWatcher::drain() {
  Changes changes;
  if (fd_ < 0) return changes;
  alignas(inotify_event) char buffer[16384];
  while (true) {
    ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n <= 0) break;
    for (char* p = buffer; p < buffer + n;) {
      auto* event = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + event->len;
      if (event->mask & IN_Q_OVERFLOW) {
        changes.rescan = true;
        continue;
      }
      if (event->mask & IN_IGNORED) {
        // The kernel dropped the watch (file deleted): the descriptor is gone, not ours to remove.
        file_refs_.erase(event->wd);
        changes.rescan = true;
        continue;
      }
      if (dir_set_.count(event->wd)) {
        changes.rescan = true;
      } else {
        changes.files.push_back(event->wd);
        // A tailed file renamed or deleted: look at its path again.
        if (event->mask & (IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB)) changes.rescan = true;
      }
    }
  }
  return changes;
}

}  // namespace sluice
