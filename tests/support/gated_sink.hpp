#pragma once
// A sink whose destination is down until the test opens it: every delivery is held (not
// acknowledged) until release(), then acknowledged at once, later ones straight away; at shutdown
// it gives up on what it holds without acknowledging it, as a sink with a down destination does.
#include <cstddef>
#include <mutex>
#include <vector>

#include "sluice/sink.hpp"

namespace sluice::testing {

class GatedSink final : public Sink {
 public:
  EncodingSpec encoding() const override { return {EncodingSpec::Kind::Raw, false}; }
  void consume(Delivery d) override {
    std::lock_guard lock(mu);
    received += d.batch().count();
    if (open) {
      d.done();
    } else {
      held.push_back(d);
    }
  }
  void release() {
    std::lock_guard lock(mu);
    open = true;
    for (Delivery& d : held) d.done();
    held.clear();
  }
  void shutdown() override {
    std::lock_guard lock(mu);
    held.clear();
  }
  std::mutex mu;
  std::vector<Delivery> held;
  size_t received = 0;  // events delivered to the sink, held or not
  bool open = false;
};

}  // namespace sluice::testing
