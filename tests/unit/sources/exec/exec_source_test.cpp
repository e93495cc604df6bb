// The exec source supervises its child: output, forwarded signals, the kill near the deadline,
// the exit code; and the process's child reaper.
#include "sources/exec/exec_source.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

#include "sources/exec/child_reaper.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;

// Generous: these waits end on an event (a line, an exit); the bound only stops a broken test.
constexpr auto kPatience = 20s;

// Records the lines the source pushes; the test thread waits for them.
class LineContext final : public SourceContext {
 public:
  Batch* acquire() override { return new Batch(); }
  void push(Batch* batch) override {
    {
      std::lock_guard lock(mutex_);
      for (const Event& e : batch->events) lines_.emplace_back(e.line);
    }
    changed_.notify_all();
    delete batch;
  }
  void release(Batch* batch) override { delete batch; }
  [[nodiscard]] uint64_t acknowledged_checkpoint() const override { return 0; }
  bool wait_for_acks(int64_t) override { return true; }
  [[nodiscard]] int64_t shutdown_deadline_ns() const override { return 0; }

  bool wait_for_line(const std::string& line) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kPatience, [&] {
      return std::find(lines_.begin(), lines_.end(), line) != lines_.end();
    });
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
};

// An exec source running `script` under sh, its run() on a thread of its own.
class RunningExec {
 public:
  explicit RunningExec(const std::string& script,
                       std::vector<int> forward_signals = default_forwarded_signals())
      : source_(options(script, std::move(forward_signals))) {
    std::string error;
    started_ = source_.start(&error);
    EXPECT_TRUE(started_) << error;
    if (started_) thread_ = std::thread([this] { finish(); });
  }
  ~RunningExec() {
    if (thread_.joinable()) thread_.join();
  }
  RunningExec(const RunningExec&) = delete;
  RunningExec& operator=(const RunningExec&) = delete;

  // True once run() has returned.
  bool wait_until_ended() {
    std::unique_lock lock(mutex_);
    return ended_cv_.wait_for(lock, kPatience, [&] { return ended_; });
  }

  ExecSource& source() { return source_; }

  static ExecOptions options(const std::string& script, std::vector<int> forward_signals) {
    ExecOptions options;
    options.command = {"sh", "-c", script};
    options.passthrough = false;
    options.forward_signals = std::move(forward_signals);
    return options;
  }
  LineContext& context() { return context_; }

 private:
  void finish() {
    source_.run(context_);
    std::lock_guard lock(mutex_);
    ended_ = true;
    ended_cv_.notify_all();
  }

  ExecSource source_;
  LineContext context_;
  bool started_ = false;
  std::mutex mutex_;
  std::condition_variable ended_cv_;
  bool ended_ = false;
  std::thread thread_;
};

TEST(ExecSource, ReadsBothStreamsAndEndsWithTheChildsExitCode) {
  RunningExec exec("echo out; echo err >&2; exit 3");
  ASSERT_TRUE(exec.wait_until_ended());
  std::vector<std::string> lines = exec.context().lines();
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"err", "out"}));
  EXPECT_EQ(exec.source().exit_code(), 3);
}

TEST(ExecSource, ForwardsEverySignalAndEndsWhenTheChildDoes) {
  RunningExec exec(
      "trap 'echo got-usr1' USR1; trap 'echo got-hup' HUP; trap 'exit 4' TERM; echo ready; "
      "while :; do sleep 0.02; done");
  ASSERT_TRUE(exec.context().wait_for_line("ready"));
  exec.source().on_signal(SIGUSR1);
  ASSERT_TRUE(exec.context().wait_for_line("got-usr1"));
  exec.source().on_signal(SIGHUP);
  ASSERT_TRUE(exec.context().wait_for_line("got-hup"));
  // A shutdown signal is the child's to act on: the source runs on until the child exits.
  exec.source().on_signal(SIGTERM);
  ASSERT_TRUE(exec.wait_until_ended());
  EXPECT_EQ(exec.source().exit_code(), 4);
}

TEST(ExecSource, ForwardsOnlyTheListedSignals) {
  // No trap for HUP: forwarded, it would kill the child (exit 129) before USR1's trap ran, as
  // the kernel delivers the lower-numbered pending signal first.
  RunningExec exec(
      "trap 'echo got-usr1' USR1; trap 'exit 4' TERM; echo ready; "
      "while :; do sleep 0.02; done",
      {SIGTERM, SIGUSR1});
  ASSERT_TRUE(exec.context().wait_for_line("ready"));
  exec.source().on_signal(SIGHUP);
  exec.source().on_signal(SIGUSR1);
  ASSERT_TRUE(exec.context().wait_for_line("got-usr1"));
  exec.source().on_signal(SIGTERM);
  ASSERT_TRUE(exec.wait_until_ended());
  EXPECT_EQ(exec.source().exit_code(), 4);
}

TEST(ExecSource, SignalNamesWithOrWithoutSigInAnyCase) {
  EXPECT_EQ(forwardable_signal("HUP"), SIGHUP);
  EXPECT_EQ(forwardable_signal("SIGUSR2"), SIGUSR2);
  EXPECT_EQ(forwardable_signal("term"), SIGTERM);
  EXPECT_EQ(forwardable_signal("KILL"), 0);  // not a signal sluice receives to pass on
  EXPECT_EQ(forwardable_signal("SIG"), 0);
  EXPECT_EQ(default_forwarded_signals(),
            (std::vector<int>{SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2}));
}

TEST(ExecSource, StopKillsAChildThatIgnoredTheShutdownSignal) {
  RunningExec exec("trap '' TERM; echo ready; while :; do sleep 0.02; done");
  ASSERT_TRUE(exec.context().wait_for_line("ready"));
  exec.source().on_signal(SIGTERM);
  exec.source().stop();
  ASSERT_TRUE(exec.wait_until_ended());
  EXPECT_EQ(exec.source().exit_code(), 128 + SIGKILL);
}

TEST(ExecSource, DecidesNoExitCodeWithoutAChild) {
  ExecOptions options;
  options.command = {"/nonexistent/sluice-unit-no-such-program"};
  options.passthrough = false;
  ExecSource source(options);
  std::string error;
  EXPECT_FALSE(source.start(&error));
  EXPECT_NE(error.find("sluice-unit-no-such-program"), std::string::npos) << error;
  EXPECT_EQ(source.exit_code(), std::nullopt);
}

// A source that is not exec: only the shutdown signals mean something to it.
class PlainSource final : public Source {
 public:
  void run(SourceContext&) override {}
  void stop() override { ++stops; }
  int stops = 0;
};

TEST(SourceSignals, ByDefaultShutdownSignalsStopASourceAndOthersAreIgnored) {
  PlainSource source;
  for (int sig : {SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) source.on_signal(sig);
  EXPECT_EQ(source.stops, 0);
  source.on_signal(SIGTERM);
  source.on_signal(SIGINT);
  EXPECT_EQ(source.stops, 2);
  EXPECT_EQ(source.exit_code(), std::nullopt);
}

// Forks a child that waits for a byte on `gate` (or exits at once without one), then exits
// with `code`.
int fork_child(pid_t* pid, int code, int gate = -1) {
  pid_t child = fork();
  if (child < 0) return errno;
  if (child == 0) {
    char byte;
    if (gate >= 0) (void)!::read(gate, &byte, 1);
    _exit(code);
  }
  *pid = child;
  return 0;
}

// Once the reaper has collected it, a process no longer exists (a zombie still does).
bool reaped(pid_t pid) {
  auto give_up = std::chrono::steady_clock::now() + kPatience;
  while (std::chrono::steady_clock::now() < give_up) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

TEST(ChildReaper, HandsEachExitToTheOwnerOfThatChildAndReapsOrphansQuietly) {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<int> codes;
  auto record = [&](int status) {
    std::lock_guard lock(mutex);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    cv.notify_all();
  };
  pid_t first = -1, second = -1;
  ASSERT_EQ(
      ChildReaper::instance().spawn([](pid_t* p) { return fork_child(p, 7); }, &first, record), 0);
  ASSERT_EQ(
      ChildReaper::instance().spawn([](pid_t* p) { return fork_child(p, 9); }, &second, record), 0);
  pid_t orphan = -1;  // started by no owner, as an adopted orphan would be
  ASSERT_EQ(fork_child(&orphan, 5), 0);
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, kPatience, [&] { return codes.size() == 2; }));
  }
  std::sort(codes.begin(), codes.end());
  EXPECT_EQ(codes, (std::vector<int>{7, 9}));
  EXPECT_TRUE(reaped(orphan));
}

TEST(ChildReaper, AForgottenChildIsReapedWithoutCallingItsOwner) {
  int gate[2];
  ASSERT_EQ(::pipe2(gate, O_CLOEXEC), 0);
  std::atomic<bool> called{false};
  pid_t pid = -1;
  ASSERT_EQ(ChildReaper::instance().spawn([&](pid_t* p) { return fork_child(p, 0, gate[0]); }, &pid,
                                          [&](int) { called = true; }),
            0);
  ChildReaper::instance().forget(pid);
  ASSERT_EQ(::write(gate[1], "x", 1), 1);
  EXPECT_TRUE(reaped(pid));
  EXPECT_FALSE(called);
  ::close(gate[0]);
  ::close(gate[1]);
}

}  // namespace
}  // namespace sluice
