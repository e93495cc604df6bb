#include "sources/exec/child_reaper.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

namespace sluice {

namespace {
// SIGCHLD wakes the reaper; this tick only covers a SIGCHLD that was not blocked and so never
// reached the signalfd (a process that did not call block_process_signals, e.g. a test).
constexpr int kFallbackTickMs = 100;
}  // namespace

ChildReaper& ChildReaper::instance() {
  static ChildReaper reaper;
  return reaper;
}

ChildReaper::ChildReaper() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] { loop(); });
}

ChildReaper::~ChildReaper() {
  uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
  thread_.join();
  ::close(signal_fd_);
  ::close(stop_fd_);
}

int ChildReaper::spawn(const std::function<int(pid_t*)>& spawn, pid_t* pid, OnExit on_exit) {
  std::lock_guard lock(mutex_);
  int rc = spawn(pid);
  if (rc == 0) watched_.emplace(*pid, std::move(on_exit));
  return rc;
}

void ChildReaper::forget(pid_t pid) {
  std::lock_guard lock(mutex_);
  watched_.erase(pid);
}

void ChildReaper::loop() {
  while (true) {
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    (void)::poll(fds, 2, kFallbackTickMs);
    if (fds[1].revents & POLLIN) return;
    signalfd_siginfo info{};
    while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    }
    reap_exited();
  }
}

void ChildReaper::reap_exited() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    // After waitpid: a child spawned (under the lock) just now is in the table by then.
    std::lock_guard lock(mutex_);
    auto it = watched_.find(pid);
    if (it == watched_.end()) continue;  // an adopted orphan
    it->second(status);
    watched_.erase(it);
  }
}

void reap_orphans_as_init() {
  if (::getpid() == 1) ChildReaper::instance();
}

}  // namespace sluice
