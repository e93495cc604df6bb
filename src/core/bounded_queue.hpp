#pragma once
// A multi-producer queue bounded by a cost (bytes) rather than a count, so memory stays bounded
// whatever the batch sizes. The items themselves travel through a lock-free moodycamel queue;
// only a producer that finds the queue full sleeps (C++20 atomic wait on the used cost).
// Cost is returned with release() once the consumer is done with the item, so an item being
// written by a sink still counts against the bound.
//
// Ordering: moodycamel keeps FIFO order per producer only. Callers that need one logical
// stream to stay ordered while it is pushed from several threads (one after another) pass the
// same Token for that stream.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include <concurrentqueue/blockingconcurrentqueue.h>

namespace sluice {

template <typename T>
class BoundedQueue {
 public:
  using Token = moodycamel::ProducerToken;

  explicit BoundedQueue(int64_t max_cost) : max_cost_(max_cost) {}

  std::unique_ptr<Token> make_token() { return std::make_unique<Token>(queue_); }

  void push(T item, int64_t cost, Token& token) {
    wait_for_room(cost);
    queue_.enqueue(token, std::move(item));
  }
  bool try_push(T item, int64_t cost, Token& token) {
    if (!try_reserve(cost)) return false;
    queue_.enqueue(token, std::move(item));
    return true;
  }

  // Blocks while full. An item is always admitted into an empty queue, so a single item larger
  // than the bound still moves.
  void push(T item, int64_t cost) {
    wait_for_room(cost);
    queue_.enqueue(std::move(item));
  }

  // Never blocks: false when the item does not fit (the caller applies drop_newest).
  bool try_push(T item, int64_t cost) {
    if (!try_reserve(cost)) return false;
    queue_.enqueue(std::move(item));
    return true;
  }

  // Control items (end-of-stream markers) bypass the bound.
  void push_control(T item) { queue_.enqueue(std::move(item)); }

  bool pop(T& out, std::chrono::microseconds timeout) {
    return queue_.wait_dequeue_timed(out, timeout.count());
  }
  void pop(T& out) { queue_.wait_dequeue(out); }
  bool try_pop(T& out) { return queue_.try_dequeue(out); }

  void release(int64_t cost) {
    if (cost == 0) return;
    used_.fetch_sub(cost, std::memory_order_acq_rel);
    used_.notify_all();
  }

  [[nodiscard]] int64_t used() const { return used_.load(std::memory_order_relaxed); }
  [[nodiscard]] int64_t max_cost() const { return max_cost_; }

 private:
  void wait_for_room(int64_t cost) {
    while (!try_reserve(cost)) {
      int64_t seen = used_.load(std::memory_order_acquire);
      if (seen == 0 || seen + cost <= max_cost_) continue;
      used_.wait(seen, std::memory_order_acquire);
    }
  }
  bool try_reserve(int64_t cost) {
    int64_t cur = used_.load(std::memory_order_relaxed);
    while (cur == 0 || cur + cost <= max_cost_) {
      if (used_.compare_exchange_weak(cur, cur + cost, std::memory_order_acq_rel)) return true;
    }
    return false;
  }

  const int64_t max_cost_;
  std::atomic<int64_t> used_{0};
  moodycamel::BlockingConcurrentQueue<T> queue_;
};

}  // namespace sluice
