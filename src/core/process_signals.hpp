#pragma once
// Process-level signal handling for the main thread: the handled signals are blocked in every
// thread and read from a signalfd, so the main loop can poll them next to other descriptors.

namespace sluice {

// Blocks the signals the pipeline handles, and SIGCHLD (read by whoever reaps children: the
// exec source's reaper), and ignores SIGPIPE. Call first thing in main, before any thread
// starts, so every thread inherits the mask.
void block_process_signals();

// Reads the signals the pipeline handles: SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2.
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

}  // namespace sluice
