#pragma once
// Bump allocator for bytes derived while processing a batch (unescaped strings, rewritten nested
// JSON, rendered values). Chunks are kept across reset() so a recycled batch allocates nothing.
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace sluice {

class Arena {
 public:
  explicit Arena(size_t chunk_size = 64 * 1024) : chunk_size_(chunk_size) {}

  // `n` bytes that stay valid until reset().
  char* allocate(size_t n) {
    if (current_ < chunks_.size() && used_ + n <= chunks_[current_].size) {
      char* p = chunks_[current_].data.get() + used_;
      used_ += n;
      return p;
    }
    return allocate_slow(n);
  }
  std::string_view copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = allocate(s.size());
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }
  void reset() {
    current_ = 0;
    used_ = 0;
  }
  // Bytes held in chunks (kept across reset()).
  [[nodiscard]] size_t capacity() const {
    size_t total = 0;
    for (const Chunk& chunk : chunks_) total += chunk.size;
    return total;
  }

 private:
  struct Chunk {
    std::unique_ptr<char[]> data;
    size_t size;
  };
  char* allocate_slow(size_t n) {
    // Move to the next kept chunk that fits, or add one.
    while (++current_ < chunks_.size()) {
      if (chunks_[current_].size >= n) {
        used_ = n;
        return chunks_[current_].data.get();
      }
    }
    size_t size = n > chunk_size_ ? n : chunk_size_;
    chunks_.push_back({std::make_unique_for_overwrite<char[]>(size), size});
    current_ = chunks_.size() - 1;
    used_ = n;
    return chunks_[current_].data.get();
  }

  size_t chunk_size_;
  std::vector<Chunk> chunks_;
  size_t current_ = 0;
  size_t used_ = 0;
};

}  // namespace sluice
