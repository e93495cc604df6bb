#pragma once
// A source reads bytes from somewhere, frames them into lines and pushes batches.
#include <sys/types.h>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/batch.hpp"

namespace sluice {

// What the pipeline offers a running source.
class SourceContext {
 public:
  virtual ~SourceContext() = default;
  // An empty batch from the pool (its buffers keep their capacity).
  virtual Batch* acquire() = 0;
  // Hands a batch with framed events to the workers; blocks while they are saturated
  // (backpressure). A batch without events is simply recycled.
  virtual void push(Batch* batch) = 0;
  // Gives back a batch that will not be pushed.
  virtual void release(Batch* batch) = 0;
  // The checkpoint of the newest batch such that it and every batch pushed before it have been
  // acknowledged by every sink (0 before any). What a source may persist as its position.
  [[nodiscard]] virtual uint64_t acknowledged_checkpoint() const = 0;
  // Blocks until every batch pushed so far is acknowledged or the monotonic deadline passes.
  // Returns true when everything is acknowledged.
  virtual bool wait_for_acks(int64_t deadline_monotonic_ns) = 0;
  // When a source that is stopping must be done (monotonic ns): the shutdown deadline once a
  // shutdown was requested, else now plus the shutdown timeout.
  [[nodiscard]] virtual int64_t shutdown_deadline_ns() const = 0;
  // Where sluice's own stdout/stderr passthrough goes (tests substitute these).
  [[nodiscard]] virtual int passthrough_fd(int stream_fd) const { return stream_fd; }
};

// One tailed file as /metrics reports it.
struct FileStatus {
  std::string path;
  uint64_t read_offset = 0;   // read up to here
  uint64_t acked_offset = 0;  // delivered to every sink up to here (the checkpoint)
  uint64_t size = 0;
};

class Source {
 public:
  virtual ~Source() = default;
  // Called on the main thread before any thread starts (exec spawns its child here).
  // Returns false with `error` set when the source cannot start.
  virtual bool start(std::string* error) { return true; }
  // Runs on the source's own thread until end of input or stop().
  virtual void run(SourceContext& ctx) = 0;
  // Asks run() to finish soon: flush what was read and return. Any thread.
  virtual void stop() = 0;

  // Sources that own a child process (exec).
  [[nodiscard]] virtual pid_t child_pid() const { return -1; }
  virtual void forward_signal(int signal) {}
  virtual void child_exited(int wait_status) {}
  // Exit code to report for the child (exit code, or 128+signal), once it exited.
  [[nodiscard]] virtual int child_exit_code() const { return 0; }

  // Sources that tail files: a snapshot of each file's progress. Any thread.
  [[nodiscard]] virtual std::vector<FileStatus> file_status() const { return {}; }
  // False once run() has returned without saving its final state (a file source's last
  // checkpoint): a restart would read again what was delivered, so sluice must not exit 0.
  [[nodiscard]] virtual bool saved_final_state() const { return true; }
};

}  // namespace sluice
