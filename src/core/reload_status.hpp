#pragma once
// What /metrics and /health say about live config reloads: how many succeeded and failed, the
// last one's result, and the events removed sinks dropped because they could not deliver them
// by the deadline. Written by the reloading thread, read by the HTTP server's.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace sluice {

class ReloadStatus {
 public:
  struct Last {
    bool any = false;  // no reload yet
    bool success = false;
    std::string detail;  // the error (file:line:col: message), or what changed
    int64_t unix_ns = 0;
    double seconds = 0;  // from the trigger to the new topology running
  };

  void record(bool success, std::string detail, int64_t unix_ns, double seconds) {
    std::lock_guard lock(mutex_);
    (success ? successes_ : failures_) += 1;
    last_ = Last{true, success, std::move(detail), unix_ns, seconds};
  }
  void add_dropped(const std::string& sink, uint64_t events) {
    std::lock_guard lock(mutex_);
    dropped_[sink] += events;
  }

  [[nodiscard]] Last last() const {
    std::lock_guard lock(mutex_);
    return last_;
  }
  [[nodiscard]] uint64_t successes() const {
    std::lock_guard lock(mutex_);
    return successes_;
  }
  [[nodiscard]] uint64_t failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
  }
  // Per removed sink: events dropped with reason "reload".
  [[nodiscard]] std::map<std::string, uint64_t> dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
  }

 private:
  mutable std::mutex mutex_;
  uint64_t successes_ = 0;
  uint64_t failures_ = 0;
  Last last_;
  std::map<std::string, uint64_t> dropped_;
};

}  // namespace sluice
