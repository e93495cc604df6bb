#pragma once
// `exec`: runs the application as sluice's child (sidecar / entrypoint mode) and reads its
// stdout and stderr as two streams. The command is an argv list, never a shell line. The source
// supervises its child: signals sluice receives are forwarded to it, the child reaper
// (child_reaper.hpp) reports its exit, a child still running when the pipeline stops the source
// shortly before the shutdown deadline is killed, and sluice exits with the child's exit code.
#include <sys/types.h>

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "parse/framer.hpp"
#include "sluice/source.hpp"

namespace sluice {

// SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2.
std::vector<int> default_forwarded_signals();
// `HUP`, `SIGHUP` or `hup` → SIGHUP, for the signals sluice handles; 0 for anything else.
int forwardable_signal(const std::string& name);

struct ExecOptions {
  std::vector<std::string> command;
  bool passthrough = true;  // also copy the child's bytes to sluice's own stdout/stderr
  FramerOptions framer;
  // The signals sluice passes on to the child (tini and dumb-init forward these). A signal not
  // listed keeps its meaning for sluice alone (SIGHUP: reopen files, reload the config).
  std::vector<int> forward_signals = default_forwarded_signals();
};

class ExecSource final : public Source {
 public:
  explicit ExecSource(ExecOptions options);
  ~ExecSource() override;

  bool start(std::string* error) override;
  void run(SourceContext& ctx) override;
  void stop() override;

  // Forwards the signals listed in `forward_signals` to the child; the source ends when the
  // child does (and its output has been read). A shutdown signal that is not forwarded leaves
  // the child running until the shutdown deadline, when stop() kills it.
  void on_signal(int signal) override;
  // The wrapped app's lifetime is not the config's: a reload never restarts it.
  [[nodiscard]] bool restartable() const override { return false; }
  // The child's exit code, or 128+signal; 1 while it has not exited. None without a child.
  [[nodiscard]] std::optional<int> exit_code() const override;

 private:
  void child_exited(int wait_status);  // on the reaper's thread
  void wait_for_child_exit();

  ExecOptions options_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> killed_{false};  // by stop(), near the shutdown deadline
  std::atomic<bool> exited_{false};
  std::atomic<int> wait_status_{0};
};

}  // namespace sluice
