#pragma once
// `stdin`: `producer | sluice run`. End of input drains and ends the source.
#include <atomic>

#include "parse/framer.hpp"
#include "sluice/source.hpp"

namespace sluice {

class StdinSource final : public Source {
 public:
  explicit StdinSource(FramerOptions framer, int fd = 0);
  ~StdinSource() override;
  void run(SourceContext& ctx) override;
  void stop() override;

 private:
  FramerOptions framer_;
  int fd_;
  int wake_fd_;  // eventfd: stop() wakes the poll
};

}  // namespace sluice
