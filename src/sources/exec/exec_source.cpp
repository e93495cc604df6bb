#include "sources/exec/exec_source.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "base/clock.hpp"
#include "base/io.hpp"
#include "base/log.hpp"
#include "sources/exec/child_reaper.hpp"
#include "sources/exec/spawn_child.hpp"
#include "sources/stream_reader.hpp"

namespace sluice {

namespace {
// After the child exits, output from processes it left behind (still holding the pipes) is
// read for this long after the last byte, then the source ends.
constexpr int64_t kOrphanOutputGraceNs = 1'000'000'000;
// SIGKILL takes effect asynchronously: how long to wait (a child stuck in the kernel may take a
// moment) for the killed child, so that sluice exits with 128+9 rather than "still running".
constexpr int64_t kKilledChildWaitNs = 1'000'000'000;
}  // namespace

ExecSource::ExecSource(ExecOptions options)
    : options_(std::move(options)), wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

ExecSource::~ExecSource() {
  if (pid_ > 0) ChildReaper::instance().forget(pid_);
  for (int fd : {stdout_fd_, stderr_fd_, wake_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

bool ExecSource::start(std::string* error) {
  if (options_.command.empty()) {
    *error = "exec source has an empty command";
    return false;
  }
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  grow_pipe(out[1]);
  grow_pipe(err[1]);
  // As a wrapper or PID 1, sluice adopts what the child leaves behind and reaps it.
  (void)prctl(PR_SET_CHILD_SUBREAPER, 1);

  int rc = ChildReaper::instance().spawn(
      [&](pid_t* pid) { return spawn_child(options_.command, out[1], err[1], pid); }, &pid_,
      [this](int wait_status) { child_exited(wait_status); });
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    pid_ = -1;
    *error = "cannot run `" + options_.command[0] + "`: " + std::strerror(rc);
    return false;
  }
  stdout_fd_ = out[0];
  stderr_fd_ = err[0];
  set_nonblocking(stdout_fd_);
  set_nonblocking(stderr_fd_);
  log::info("child started", "pid", pid_, "command", options_.command[0]);
  return true;
}

// The pipeline stops a source still running shortly before the shutdown deadline: the child
// was sent the shutdown signal and its time is up.
void ExecSource::stop() {
  if (pid_ > 0 && !exited_.load() && !killed_.exchange(true)) {
    log::warn("child did not exit in time, killing it", "pid", pid_);
    ::kill(pid_, SIGKILL);
  }
  stopping_ = true;
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

std::vector<int> default_forwarded_signals() {
  return {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2};
}

int forwardable_signal(const std::string& name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind("SIG", 0) == 0) upper.erase(0, 3);
  static const std::pair<const char*, int> kNames[] = {{"TERM", SIGTERM}, {"INT", SIGINT},
                                                       {"QUIT", SIGQUIT}, {"HUP", SIGHUP},
                                                       {"USR1", SIGUSR1}, {"USR2", SIGUSR2}};
  for (const auto& [known, number] : kNames) {
    if (upper == known) return number;
  }
  return 0;
}

void ExecSource::on_signal(int signal) {
  const std::vector<int>& forwarded = options_.forward_signals;
  if (std::find(forwarded.begin(), forwarded.end(), signal) == forwarded.end()) return;
  if (pid_ > 0 && !exited_.load()) ::kill(pid_, signal);
}

void ExecSource::child_exited(int wait_status) {
  wait_status_ = wait_status;
  exited_ = true;
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
  if (WIFSIGNALED(wait_status)) {
    log::info("child exited", "pid", pid_, "signal", strsignal(WTERMSIG(wait_status)));
  } else {
    log::info("child exited", "pid", pid_, "code", WEXITSTATUS(wait_status));
  }
}

std::optional<int> ExecSource::exit_code() const {
  if (pid_ <= 0) return std::nullopt;
  if (!exited_.load()) return 1;
  int status = wait_status_.load();
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

void ExecSource::run(SourceContext& ctx) {
  StreamReader out(ctx, "stdout", options_.framer,
                   options_.passthrough ? ctx.passthrough_fd(1) : -1);
  StreamReader err(ctx, "stderr", options_.framer,
                   options_.passthrough ? ctx.passthrough_fd(2) : -1);
  StreamReader* readers[2] = {&out, &err};
  int fds[2] = {stdout_fd_, stderr_fd_};
  bool open[2] = {true, true};
  bool at_eof[2] = {false, false};
  int64_t last_data = monotonic_ns();

  while (open[0] || open[1]) {
    pollfd pfds[3];
    int nfds = 0;
    int which[2];
    for (int i = 0; i < 2; ++i) {
      if (open[i]) {
        which[nfds] = i;
        pfds[nfds++] = {fds[i], POLLIN, 0};
      }
    }
    pfds[nfds] = {wake_fd_, POLLIN, 0};
    // The sooner of the two streams' flush times (-1: none), and a 100 ms tick once the
    // child has exited, to notice the end of the orphan grace period.
    int timeout = out.poll_timeout_ms();
    int err_timeout = err.poll_timeout_ms();
    if (err_timeout >= 0 && (timeout < 0 || err_timeout < timeout)) timeout = err_timeout;
    if (exited_.load() && (timeout < 0 || timeout > 100)) timeout = 100;
    int ready = ::poll(pfds, static_cast<nfds_t>(nfds) + 1, timeout);
    if (ready < 0 && errno != EINTR) break;
    int64_t now = monotonic_ns();
    out.flush_if_due(ready == 0, now);
    err.flush_if_due(ready == 0, now);
    if (pfds[nfds].revents & POLLIN) {
      uint64_t drained;
      (void)!::read(wake_fd_, &drained, sizeof drained);
    }
    if (stopping_.load()) break;
    for (int k = 0; k < nfds; ++k) {
      if (!(pfds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      int i = which[k];
      // Drain what is there now; flush_if_due() hands it on once the app pauses.
      while (true) {
        ssize_t n = readers[i]->read_once(fds[i]);
        if (n > 0) {
          last_data = monotonic_ns();
          readers[i]->note_read(last_data);
          continue;
        }
        if (n == 0) at_eof[i] = true;
        if (n == 0 || n == -2) open[i] = false;
        break;
      }
    }
    if (exited_.load() && monotonic_ns() - last_data > kOrphanOutputGraceNs) break;
  }
  out.finish(!at_eof[0]);
  err.finish(!at_eof[1]);
  wait_for_child_exit();
}

// The exit status decides sluice's own: waits for it, unless asked to stop; after stop() killed
// the child, only for as long as the kill may take.
void ExecSource::wait_for_child_exit() {
  int64_t give_up_at = 0;
  while (!exited_.load()) {
    if (stopping_.load()) {
      if (!killed_.load()) return;
      if (give_up_at == 0) give_up_at = monotonic_ns() + kKilledChildWaitNs;
      if (monotonic_ns() >= give_up_at) return;
    }
    pollfd pfd{wake_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 100) > 0) {
      uint64_t drained;
      (void)!::read(wake_fd_, &drained, sizeof drained);
    }
  }
}

}  // namespace sluice
