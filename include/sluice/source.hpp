#pragma once
// A source reads bytes from somewhere, frames them into lines and pushes batches.
#include <csignal>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
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

// The Kubernetes metadata of a `container` source as /metrics and /health report it.
struct KubernetesStatus {
  std::string state;      // synced, starting, unreachable, unauthorized, forbidden, failing
  bool degraded = false;  // not synced: events carry their path's metadata only
  uint64_t pods_cached = 0;
  uint64_t cache_bytes = 0;      // an estimate of the cache's memory
  uint64_t misses = 0;           // files read without their pod's metadata
  uint64_t relists = 0;          // lists after 410 Gone
  uint64_t excluded_events = 0;  // lines dropped: their pod says `sluice.io/exclude: "true"`
  // API requests by kind (list, watch, get) and HTTP status ("error": no answer).
  std::vector<std::tuple<std::string, std::string, uint64_t>> requests;
};

class Source {
 public:
  virtual ~Source() = default;
  // Called on the main thread before any thread starts (exec spawns its child here).
  // Returns false with `error` set when the source cannot start.
  virtual bool start(std::string* error) { return true; }
  // Runs on the source's own thread until end of input or stop().
  virtual void run(SourceContext& ctx) = 0;
  // Asks run() to finish soon: flush what was read and return. Any thread. The pipeline also
  // calls it on every source still running shortly before the shutdown deadline.
  virtual void stop() = 0;
  // A live reload stops this source for good: its successor (the changed config's) may no longer
  // match what this one has open, such as a file rotated to a name the new patterns leave out.
  // So, unlike stop(), what is readable now is read first (within the shutdown timeout).
  virtual void retire() { stop(); }

  // A signal sluice received (SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 or SIGUSR2), on the
  // main thread. By default a shutdown signal (SIGTERM, SIGINT) stops the source and the others
  // mean nothing to it; a source wrapping a process (exec) forwards those it is told to, and
  // ends when the process does.
  virtual void on_signal(int signal) {
    if (signal == SIGTERM || signal == SIGINT) stop();
  }
  // False for a source a live reload must never restart even when its config changed (exec:
  // the wrapped app's lifetime is not the config's).
  [[nodiscard]] virtual bool restartable() const { return true; }
  // Set by a source that decides sluice's exit code (exec: its child's, or 128+signal); read
  // once the source has ended.
  [[nodiscard]] virtual std::optional<int> exit_code() const { return std::nullopt; }

  // Sources that tail files: a snapshot of each file's progress. Any thread.
  [[nodiscard]] virtual std::vector<FileStatus> file_status() const { return {}; }
  // Its Kubernetes metadata client, when it runs one (any thread).
  [[nodiscard]] virtual std::optional<KubernetesStatus> kubernetes_status() const {
    return std::nullopt;
  }
  // Events the source read and dropped on purpose, by reason (a container source's "excluded":
  // lines of pods that say `sluice.io/exclude: "true"`): series of
  // sluice_component_dropped_events_total{reason="..."}. Any thread.
  [[nodiscard]] virtual std::vector<std::pair<std::string, uint64_t>> dropped_events() const {
    return {};
  }
  // False once run() has returned without saving its final state (a file source's last
  // checkpoint): a restart would read again what was delivered, so sluice must not exit 0.
  [[nodiscard]] virtual bool saved_final_state() const { return true; }
};

}  // namespace sluice
