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

struct ExecOptions {
  std::vector<std::string> command;
  bool passthrough = true;  // also copy the child's bytes to sluice's own stdout/stderr
  FramerOptions framer;
};

class ExecSource final : public Source {
 public:
  explicit ExecSource(ExecOptions options);
  ~ExecSource() override;

  bool start(std::string* error) override;
  void run(SourceContext& ctx) override;
  void stop() override;

  // Forwards every signal to the child; the source ends when the child does (and its output
  // has been read).
  void on_signal(int signal) override;
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
