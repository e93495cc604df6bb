#pragma once
// Per-component counters. Relaxed atomics: they are read for reporting, never for control.
#include <atomic>
#include <cstdint>
#include <string>

namespace sluice {

struct ComponentMetrics {
  std::string name;
  std::string kind;  // "source", "transform", "sink"
  std::atomic<uint64_t> events_in{0};
  std::atomic<uint64_t> events_out{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> parse_errors{0};
  std::atomic<uint64_t> split{0};
  std::atomic<uint64_t> errors{0};

  void add(std::atomic<uint64_t>& counter, uint64_t n) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
};

}  // namespace sluice
