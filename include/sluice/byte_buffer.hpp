#pragma once
// A growable byte buffer that does not zero-fill on growth. Batches and encoders reuse one across
// many uses, so after warm-up appending to it allocates nothing.
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace sluice {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  explicit ByteBuffer(size_t capacity) { reserve(capacity); }

  [[nodiscard]] char* data() { return data_.get(); }
  [[nodiscard]] const char* data() const { return data_.get(); }
  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] size_t capacity() const { return capacity_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] std::string_view view() const { return {data_.get(), size_}; }

  void clear() { size_ = 0; }
  void resize(size_t n) {
    reserve(n);
    size_ = n;
  }
  // Keeps the contents; the new capacity is at least `n`.
  void reserve(size_t n) {
    if (n <= capacity_) return;
    size_t cap = capacity_ ? capacity_ : 256;
    while (cap < n) cap *= 2;
    auto grown = std::make_unique_for_overwrite<char[]>(cap);
    if (size_) std::memcpy(grown.get(), data_.get(), size_);
    data_ = std::move(grown);
    capacity_ = cap;
  }
  // Pointer to `n` writable bytes at the end; call commit() with what was used.
  char* prepare(size_t n) {
    reserve(size_ + n);
    return data_.get() + size_;
  }
  void commit(size_t n) { size_ += n; }

  void append(std::string_view s) {
    if (s.empty()) return;  // a default string_view's data() is null: memcpy must not see it
    std::memcpy(prepare(s.size()), s.data(), s.size());
    size_ += s.size();
  }
  void push_back(char c) {
    *prepare(1) = c;
    ++size_;
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace sluice
