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

  // Set before the pipeline starts, by `sluice tail`: text lines begin with their origin (it
  // shows several files or pods at once).
  void show_origin_prefix() { encoding_.prefix = true; }
  // Also `sluice tail`: a reader that goes away (`| head`) is how a person ends it, not an error.
  void treat_closed_output_as_normal() { closed_output_is_normal_ = true; }

 private:
  EncodingSpec encoding_;
  int fd_;
  bool closed_output_is_normal_ = false;
  bool broken_ = false;
  bool quiet_ = false;      // broken by a reader that went away, and that is normal here
  uint64_t discarded_ = 0;  // events after stdout broke, reported at shutdown
};

}  // namespace sluice
