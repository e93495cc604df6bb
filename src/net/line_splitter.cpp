#include "net/line_splitter.hpp"

#include <utility>

namespace sluice::net {

namespace {

// After a long line the line buffer's memory is given back rather than kept for the stream's life.
constexpr size_t kKeptLineCapacity = 1U << 20;

}  // namespace

std::string_view LineSplitter::complete_line(const char* begin, size_t size) {
  if (partial_.empty()) return without_cr(std::string_view(begin, size));
  partial_.append(begin, size);
  return without_cr(partial_);
}

void LineSplitter::release_line() {
  partial_.clear();
  if (partial_.capacity() > kKeptLineCapacity) partial_.shrink_to_fit();
}

std::string LineSplitter::take_last_line() {
  std::string last = std::move(partial_);
  partial_ = std::string();
  return last;
}

LineSplitter::Feed LineSplitter::end_with(Feed why) {
  done_ = why;
  // Nothing more will be read: the start of a line is not kept.
  partial_ = std::string();
  return why;
}

}  // namespace sluice::net
