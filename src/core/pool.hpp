#pragma once
// A lock-free free list that recycles heavy objects (batches with their buffers), so that the
// steady state allocates nothing. Objects beyond `max_kept` are freed rather than hoarded.
#include <atomic>
#include <cstddef>
#include <memory>

#include <concurrentqueue/concurrentqueue.h>

namespace sluice {

template <typename T>
class Pool {
 public:
  explicit Pool(size_t max_kept = 64) : max_kept_(max_kept) {}
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
    free_.enqueue(item);
  }

 private:
  size_t max_kept_;
  std::atomic<size_t> kept_{0};
  moodycamel::ConcurrentQueue<T*> free_;
};

}  // namespace sluice
