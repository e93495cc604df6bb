#pragma once
// `stdout`: events to sluice's standard output, as JSON lines or readable (coloured) text.
#include "sluice/sink.hpp"

namespace sluice {

class StdoutSink final : public Sink {
 public:
  explicit StdoutSink(EncodingSpec encoding, int fd = 1) : encoding_(encoding), fd_(fd) {}
  [[nodiscard]] EncodingSpec encoding() const override { return encoding_; }
  void consume(Delivery delivery) override;
  void shutdown() override;

 private:
  EncodingSpec encoding_;
  int fd_;
  bool broken_ = false;
  uint64_t discarded_ = 0;  // events after stdout broke, reported at shutdown
};

}  // namespace sluice
