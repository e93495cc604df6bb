#pragma once
// Reaps sluice's exited child processes. waitpid(-1) collects any child, so there is one reaper
// per process: it hands each exit to whoever started that child (an exec source) and reaps the
// rest quietly: orphans that sluice adopts as a child subreaper of the processes it runs, or as
// PID 1 of a container. It has its own thread, woken by SIGCHLD through a signalfd (SIGCHLD is
// blocked in every thread, see block_process_signals), so the pipeline never deals with
// children.
#include <sys/types.h>

#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace sluice {

class ChildReaper {
 public:
  // The process's reaper, started on first use.
  static ChildReaper& instance();

  using OnExit = std::function<void(int wait_status)>;
  // Starts a child with `spawn` (returns 0 with the pid, or an errno) and, when that succeeded,
  // calls `on_exit` on the reaper's thread once the child has exited. Spawns under the reaper's
  // lock, so that a child that exits at once is known before its exit is looked up.
  int spawn(const std::function<int(pid_t*)>& spawn, pid_t* pid, OnExit on_exit);
  // No more calls for `pid`: its owner is going away. Waits for a call in progress.
  void forget(pid_t pid);

  ~ChildReaper();
  ChildReaper(const ChildReaper&) = delete;
  ChildReaper& operator=(const ChildReaper&) = delete;

 private:
  ChildReaper();
  void loop();
  void reap_exited();

  std::mutex mutex_;
  std::map<pid_t, OnExit> watched_;
  int signal_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
};

// As PID 1 (a container's entrypoint) sluice inherits every orphan in the container: reaps them
// even when no exec source runs a child.
void reap_orphans_as_init();

}  // namespace sluice
