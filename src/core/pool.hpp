#pragma once
// A lock-free free list that recycles heavy objects (batches with their buffers), so that the
// steady state allocates nothing. Objects beyond `max_kept`, or whose buffers would take the
// kept objects over `max_kept_bytes` (as `cost` counts them), are freed rather than hoarded.
//
// Why a byte bound as well as a count: a recycled object keeps the capacity of the largest
// contents it ever held, and the free list hands objects out in turn, so a burst that fills
// every object once (110 files' batches of 190 KB each, their parsed fields and encoded output)
// would otherwise stay allocated as free memory outside every queue's bound, as many times over
// as there are objects kept.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>

#include <concurrentqueue/concurrentqueue.h>

namespace sluice {

template <typename T>
class Pool {
 public:
  using CostFn = int64_t (*)(const T&);

  explicit Pool(size_t max_kept = 64, int64_t max_kept_bytes = std::numeric_limits<int64_t>::max(),
                CostFn cost = nullptr)
      : max_kept_(max_kept), max_kept_bytes_(max_kept_bytes), cost_(cost) {}
  ~Pool() {
    T* item = nullptr;
    while (free_.try_dequeue(item)) delete item;
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  T* acquire() {
    T* item = nullptr;
    if (free_.try_dequeue(item)) {
      kept_.fetch_sub(1, std::memory_order_relaxed);
      // An object's capacity does not change while it is kept: the cost it was admitted with.
      if (cost_ != nullptr) kept_bytes_.fetch_sub(cost_(*item), std::memory_order_relaxed);
      return item;
    }
    return new T();
  }
  // The caller has reset the object.
  void release(T* item) {
    if (kept_.fetch_add(1, std::memory_order_relaxed) >= max_kept_) {
      kept_.fetch_sub(1, std::memory_order_relaxed);
      delete item;
      return;
    }
    if (cost_ != nullptr) {
      const int64_t cost = cost_(*item);
      if (kept_bytes_.fetch_add(cost, std::memory_order_relaxed) + cost > max_kept_bytes_) {
        kept_bytes_.fetch_sub(cost, std::memory_order_relaxed);
        kept_.fetch_sub(1, std::memory_order_relaxed);
        delete item;
        return;
      }
    }
    free_.enqueue(item);
  }

  // Objects kept and the memory they hold (as `cost` counts it; 0 without one).
  [[nodiscard]] size_t kept() const { return kept_.load(std::memory_order_relaxed); }
  [[nodiscard]] int64_t kept_bytes() const { return kept_bytes_.load(std::memory_order_relaxed); }

 private:
  const size_t max_kept_;
  const int64_t max_kept_bytes_;
  const CostFn cost_;
  std::atomic<size_t> kept_{0};
  std::atomic<int64_t> kept_bytes_{0};
  moodycamel::ConcurrentQueue<T*> free_;
};

}  // namespace sluice
