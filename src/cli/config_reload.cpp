#include "cli/config_reload.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "base/secrets.hpp"
#include "options/config_error.hpp"

namespace sluice::cli {

ConfigReloader::ConfigReloader(Pipeline& pipeline, Load load)
    : pipeline_(pipeline), load_(std::move(load)), thread_([this] { loop(); }) {}

ConfigReloader::~ConfigReloader() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ConfigReloader::request(const char* trigger, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!pending_) {
      pending_ = true;
      first_request_ns_ = monotonic_ns();
      triggers_.clear();
    }
    if (triggers_.find(trigger) == std::string::npos) {
      triggers_ += triggers_.empty() ? "" : ",";
      triggers_ += trigger;
    }
    if (done) waiting_.push_back(std::move(done));
  }
  wake_.notify_all();
}

void ConfigReloader::loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return pending_ || stopping_; });
    if (stopping_) break;
    // Everything asked for up to now is served by this reload, which reads the file as it is
    // now; what arrives while it runs makes the next one.
    pending_ = false;
    std::string triggers = std::move(triggers_);
    int64_t requested = first_request_ns_;
    std::vector<Done> waiting = std::move(waiting_);
    waiting_.clear();
    lock.unlock();
    Result result = reload_once(triggers, requested);
    for (const Done& done : waiting) done(result);
    lock.lock();
  }
  // Shutting down: whoever still waits learns the reload will not happen.
  for (const Done& done : waiting_) done(Result{false, "sluice is shutting down", 0});
}

ConfigReloader::Result ConfigReloader::reload_once(const std::string& trigger,
                                                   int64_t requested_ns) {
  Result result;
  try {
    BuiltPipeline built = guard_config_errors(load_);
    Pipeline::ReloadOutcome outcome = pipeline_.reload(
        std::move(built.sources), std::move(built.transforms), std::move(built.sinks));
    result.success = outcome.applied;
    result.detail = outcome.applied ? outcome.summary : outcome.error;
  } catch (const ConfigError& e) {
    result.detail = secrets::redact(e.what());
  }
  result.seconds = static_cast<double>(monotonic_ns() - requested_ns) / 1e9;
  pipeline_.reload_status().record(result.success, result.detail, wall_clock_ns(), result.seconds);
  if (result.success) {
    log::info("config reloaded", "trigger", trigger, "seconds", result.seconds, "changes",
              result.detail);
  } else {
    log::error("config reload failed; the running config is unchanged", "trigger", trigger, "error",
               result.detail);
  }
  return result;
}

namespace {

constexpr uint32_t kDirEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE;
constexpr uint32_t kFileEvents = IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF;

}  // namespace

std::unique_ptr<ConfigWatcher> ConfigWatcher::start(const std::string& path,
                                                    std::function<void()> changed,
                                                    std::string* error) {
  int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0) {
    *error = std::string("inotify: ") + std::strerror(errno);
    return nullptr;
  }
  int stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  std::unique_ptr<ConfigWatcher> watcher(new ConfigWatcher(path, std::move(changed), fd, stop));
  if (inotify_add_watch(fd, watcher->dir_.c_str(), kDirEvents | IN_ONLYDIR) < 0) {
    *error = "cannot watch " + watcher->dir_ + ": " + std::strerror(errno);
    return nullptr;
  }
  watcher->watch_file();
  watcher->thread_ = std::thread([w = watcher.get()] { w->loop(); });
  return watcher;
}

ConfigWatcher::ConfigWatcher(std::string path, std::function<void()> changed, int inotify_fd,
                             int stop_fd)
    : path_(std::move(path)),
      changed_(std::move(changed)),
      inotify_fd_(inotify_fd),
      stop_fd_(stop_fd) {
  size_t slash = path_.rfind('/');
  dir_ = slash == std::string::npos ? "." : (slash == 0 ? "/" : path_.substr(0, slash));
  name_ = slash == std::string::npos ? path_ : path_.substr(slash + 1);
}

ConfigWatcher::~ConfigWatcher() {
  uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  ::close(inotify_fd_);
  ::close(stop_fd_);
}

// Through a symlink, inotify watches the file it points to: writes to it are seen even where
// its directory is not the config's.
void ConfigWatcher::watch_file() {
  if (file_watch_ >= 0) inotify_rm_watch(inotify_fd_, file_watch_);
  file_watch_ = inotify_add_watch(inotify_fd_, path_.c_str(), kFileEvents);
}

void ConfigWatcher::loop() {
  alignas(inotify_event) char buffer[16 * 1024];
  while (true) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents & POLLIN) return;
    bool relevant = false;
    ssize_t n;
    while ((n = ::read(inotify_fd_, buffer, sizeof buffer)) > 0) {
      for (ssize_t at = 0; at < n;) {
        auto* event = reinterpret_cast<inotify_event*>(buffer + at);
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        if (event->wd == file_watch_) {
          relevant = true;
          continue;
        }
        if (event->len == 0) continue;
        std::string name(event->name);
        // `..data` (and the `..<timestamp>` directories) are how a ConfigMap volume swaps all
        // its files at once.
        bool ours = name == name_ || name.rfind("..", 0) == 0;
        if (!ours) continue;
        if (event->mask & IN_CREATE) {
          // A new regular file is still being written (IN_CLOSE_WRITE follows); a new symlink
          // is complete.
          struct stat st {};
          std::string full = dir_ + "/" + name;
          if (::lstat(full.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) continue;
        }
        relevant = true;
      }
    }
    if (!relevant) continue;
    watch_file();
    changed_();
  }
}

}  // namespace sluice::cli
