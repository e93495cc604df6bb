#pragma once
// Acknowledgements. Every batch a source pushes carries one AckToken; each sink delivery of that
// batch calls done() once its write is durable (or once the data was dropped by policy and
// counted). When the last delivery is done the source's AckReceiver learns the batch is finished,
// which is what checkpoints and graceful shutdown wait on.
#include <atomic>
#include <cstdint>

namespace sluice {

class AckReceiver {
 public:
  virtual ~AckReceiver() = default;
  // `checkpoint` is the value the source put on the batch (e.g. the file offset after it).
  virtual void acknowledged(uint64_t seq, uint64_t events, uint64_t checkpoint) = 0;
};

class AckToken {
 public:
  AckToken(AckReceiver* receiver, uint64_t seq, uint64_t events, uint64_t checkpoint,
           int deliveries)
      : receiver_(receiver),
        seq_(seq),
        events_(events),
        checkpoint_(checkpoint),
        pending_(deliveries) {}

  // Adds deliveries before the token is handed out (fan-out decided after creation).
  void add(int deliveries) { pending_.fetch_add(deliveries, std::memory_order_relaxed); }

  // The token deletes itself with the last delivery.
  void done() {
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      if (receiver_) receiver_->acknowledged(seq_, events_, checkpoint_);
      delete this;
    }
  }

  [[nodiscard]] uint64_t seq() const { return seq_; }

 private:
  AckReceiver* receiver_;
  uint64_t seq_;
  uint64_t events_;
  uint64_t checkpoint_;
  std::atomic<int> pending_;
};

}  // namespace sluice
