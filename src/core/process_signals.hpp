#pragma once
// Process-level signal handling for the main thread: the handled signals are blocked in every
// thread and read from a signalfd, so the main loop can poll them next to other descriptors.
#include <sys/types.h>

#include <functional>

namespace sluice {

// Blocks the signals the pipeline handles (call first thing in main, before any thread starts,
// so every thread inherits the mask) and ignores SIGPIPE.
void block_process_signals();

class SignalWatcher {
 public:
  SignalWatcher();
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  [[nodiscard]] int fd() const { return fd_; }
  // The next pending signal, or 0 when none is.
  int next();

 private:
  int fd_;
};

// Reaps every child that has exited, without blocking (sluice is a child subreaper, and may be
// PID 1, so orphans end up here too); reports each to `on_exit`.
void reap_exited_children(const std::function<void(pid_t pid, int wait_status)>& on_exit);

}  // namespace sluice
