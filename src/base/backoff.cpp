#include "base/backoff.hpp"

#include <algorithm>

#include "base/clock.hpp"

namespace sluice {

namespace {

int64_t clamp_min(int64_t min) { return std::max<int64_t>(min, 1); }

}  // namespace

int64_t capped_doubling(int64_t min, int64_t max, uint32_t attempt) {
  max = std::max(clamp_min(min), max);
  int64_t step = std::min(clamp_min(min), max);
  for (uint32_t k = 1; k < attempt && step < max; ++k) {
    step = step > max / 2 ? max : step * 2;
  }
  return step;
}

Backoff::Backoff(int64_t min, int64_t max)
    : Backoff(min, max, static_cast<uint64_t>(monotonic_ns()) ^ reinterpret_cast<uintptr_t>(this)) {
}

Backoff::Backoff(int64_t min, int64_t max, uint64_t seed)
    : min_(clamp_min(min)), max_(std::max(min_, max)), step_(min_), random_state_(seed) {}

int64_t Backoff::next_delay() {
  const int64_t delay = jittered(step_);
  step_ = step_ > max_ / 2 ? max_ : step_ * 2;
  return delay;
}

int64_t Backoff::delay_for_attempt(uint32_t attempt) {
  return jittered(capped_doubling(min_, max_, attempt));
}

int64_t Backoff::jittered(int64_t step) {
  // splitmix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number generators").
  random_state_ += 0x9e3779b97f4a7c15ULL;
  uint64_t z = random_state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  const int64_t low = step / 2;
  const auto span = static_cast<uint64_t>(step - low) + 1;  // both ends included
  return low + static_cast<int64_t>(z % span);
}

}  // namespace sluice
