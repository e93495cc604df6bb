#pragma once
// Splits a streamed body (a Kubernetes watch) into lines as its bytes arrive, in reads of any
// size: lines end at '\n' (one '\r' before it is dropped), empty lines are skipped, a line over
// the cap ends the stream (a server that never sends '\n' must not grow the buffer forever) and
// the last line counts without its newline. A line that arrives whole in one read is handed over
// without a copy; only the start of a line split across reads is kept. Used by HttpClient::stream
// (Exchange); on its own so that the splitting can be tested and fuzzed without a connection.
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace sluice::net {

class LineSplitter {
 public:
  // How a feed() ended.
  enum class Feed {
    More,     // every line of the read was handed over: feed the next read
    Stopped,  // the reader returned false
    TooLong,  // a line is longer than max_line_bytes
  };

  // `max_line_bytes` bounds a line's bytes before its '\n', a '\r' there included.
  explicit LineSplitter(size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  // Hands each line completed by these bytes to `on_line(std::string_view) -> bool` (the view
  // lives until it returns; false stops the stream). Once a feed() returned Stopped or TooLong
  // the splitter is done: later feeds and finish() hand over nothing and return the same.
  template <typename OnLine>
  Feed feed(const char* data, size_t n, OnLine&& on_line) {
    if (done_ != Feed::More) return done_;
    size_t pos = 0;
    while (pos < n) {
      const void* found = std::memchr(data + pos, '\n', n - pos);
      const size_t end =
          found == nullptr ? n : static_cast<size_t>(static_cast<const char*>(found) - data);
      if (partial_.size() + (end - pos) > max_line_bytes_) return end_with(Feed::TooLong);
      if (found == nullptr) {
        partial_.append(data + pos, n - pos);
        return Feed::More;
      }
      const std::string_view line = complete_line(data + pos, end - pos);
      pos = end + 1;
      const bool go_on = line.empty() || on_line(line);
      release_line();
      if (!go_on) return end_with(Feed::Stopped);
    }
    return Feed::More;
  }

  // The body has ended: its last line, when it had no newline, goes to `on_line` (whose answer
  // no longer matters).
  template <typename OnLine>
  void finish(OnLine&& on_line) {
    if (done_ != Feed::More || partial_.empty()) return;
    const std::string last = take_last_line();
    const std::string_view line = without_cr(last);
    if (!line.empty()) on_line(line);
  }

  // The start of a line still waiting for its end (its bytes so far).
  [[nodiscard]] size_t pending_bytes() const { return partial_.size(); }
  // What the kept partial line holds on to (given back after a long line).
  [[nodiscard]] size_t pending_capacity() const { return partial_.capacity(); }

 private:
  static std::string_view without_cr(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  }
  // The line that ends at `end` of this read: whole in the read (no copy), or the kept start
  // followed by these bytes. Without its '\r'.
  std::string_view complete_line(const char* begin, size_t size);
  // After the line was handed over: the kept start is emptied, its memory given back when large.
  void release_line();
  std::string take_last_line();
  Feed end_with(Feed why);

  size_t max_line_bytes_;
  std::string partial_;
  Feed done_ = Feed::More;
};

}  // namespace sluice::net
