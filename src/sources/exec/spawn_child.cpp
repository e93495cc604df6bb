#include "sources/exec/spawn_child.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "core/open_file_limit.hpp"

namespace sluice {

namespace {

// The child, between fork and exec: async-signal-safe calls only (another thread of sluice may
// have held a lock at the fork). Never returns.
[[noreturn]] void exec_in_child(char* const argv[], int stdout_fd, int stderr_fd, int report_fd,
                                const rlimit* limit) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) (void)sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, nullptr);
  int err = 0;
  if (dup2(stdout_fd, STDOUT_FILENO) < 0 || dup2(stderr_fd, STDERR_FILENO) < 0) err = errno;
  if (err == 0 && limit != nullptr) (void)setrlimit(RLIMIT_NOFILE, limit);
  if (err == 0) {
    execvp(argv[0], argv);
    err = errno;
  }
  (void)!write(report_fd, &err, sizeof err);
  _exit(127);
}

}  // namespace

int spawn_child(std::vector<std::string>& command, int stdout_fd, int stderr_fd, pid_t* pid) {
  std::vector<char*> argv;
  argv.reserve(command.size() + 1);
  for (auto& arg : command) argv.push_back(arg.data());
  argv.push_back(nullptr);
  rlimit original{};
  const rlimit* limit = original_open_file_limit(&original) ? &original : nullptr;
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return errno;
  pid_t child = fork();
  if (child < 0) {
    int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    return err;
  }
  if (child == 0) exec_in_child(argv.data(), stdout_fd, stderr_fd, report[1], limit);
  ::close(report[1]);
  int err = 0;
  ssize_t n = 0;
  do {
    n = ::read(report[0], &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof err)) {  // exec failed: the child has exited
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    return err;
  }
  *pid = child;
  return 0;
}

}  // namespace sluice
