#pragma once
// `exec`: runs the application as sluice's child (sidecar / entrypoint mode) and reads its
// stdout and stderr as two streams. The command is an argv list, never a shell line. Signals
// sluice receives are forwarded to the child; sluice exits with the child's exit code.
#include <atomic>
#include <condition_variable>
#include <mutex>
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

  [[nodiscard]] pid_t child_pid() const override { return pid_; }
  void forward_signal(int signal) override;
  void child_exited(int wait_status) override;
  [[nodiscard]] int child_exit_code() const override;

 private:
  ExecOptions options_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> exited_{false};
  std::atomic<int> wait_status_{0};
};

}  // namespace sluice
