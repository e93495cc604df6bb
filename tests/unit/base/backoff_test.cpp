#include "base/backoff.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace sluice {
namespace {

constexpr int64_t kMs = 1'000'000;

TEST(Backoff, EachDelayIsBetweenHalfAndAllOfItsStep) {
  Backoff backoff(100 * kMs, 30'000 * kMs, 42);
  for (int round = 0; round < 200; ++round) {
    const int64_t step = backoff.step();
    const int64_t delay = backoff.next_delay();
    EXPECT_GE(delay, step / 2) << "round " << round;
    EXPECT_LE(delay, step) << "round " << round;
  }
}

TEST(Backoff, StepDoublesFromMinUpToMaxAndStaysThere) {
  Backoff backoff(100 * kMs, 1'000 * kMs, 7);
  std::vector<int64_t> steps;
  for (int i = 0; i < 7; ++i) {
    steps.push_back(backoff.step());
    backoff.next_delay();
  }
  const std::vector<int64_t> want = {100 * kMs,  200 * kMs,  400 * kMs, 800 * kMs,
                                     1000 * kMs, 1000 * kMs, 1000 * kMs};
  EXPECT_EQ(steps, want);
}

TEST(Backoff, ResetStartsFromMinAgain) {
  Backoff backoff(50 * kMs, 5'000 * kMs, 1);
  for (int i = 0; i < 10; ++i) backoff.next_delay();
  EXPECT_EQ(backoff.step(), 5'000 * kMs);
  backoff.reset();
  EXPECT_EQ(backoff.step(), 50 * kMs);
  const int64_t delay = backoff.next_delay();
  EXPECT_GE(delay, 25 * kMs);
  EXPECT_LE(delay, 50 * kMs);
  EXPECT_EQ(backoff.step(), 100 * kMs);
}

TEST(Backoff, JitterSpreadsTheDelaysOverTheWholeRange) {
  // A jitter that always drew the same point (or only one half) would let many senders retry in
  // step. With a fixed seed the draws are the same every run: this cannot flake.
  Backoff backoff(1'000 * kMs, 1'000 * kMs, 2026);
  int64_t lowest = INT64_MAX;
  int64_t highest = 0;
  for (int i = 0; i < 1000; ++i) {
    const int64_t delay = backoff.next_delay();
    lowest = std::min(lowest, delay);
    highest = std::max(highest, delay);
  }
  EXPECT_LT(lowest, 550 * kMs);
  EXPECT_GT(highest, 950 * kMs);
}

TEST(Backoff, TheSameSeedDrawsTheSameDelaysAndAnotherSeedOthers) {
  Backoff a(100 * kMs, 30'000 * kMs, 5);
  Backoff b(100 * kMs, 30'000 * kMs, 5);
  Backoff c(100 * kMs, 30'000 * kMs, 6);
  int differences = 0;
  for (int i = 0; i < 20; ++i) {
    const int64_t delay = a.next_delay();
    EXPECT_EQ(delay, b.next_delay());
    differences += delay != c.next_delay() ? 1 : 0;
  }
  EXPECT_GT(differences, 10);
}

TEST(Backoff, DelayForAttemptFollowsTheAttemptCountNotTheStep) {
  Backoff backoff(100 * kMs, 30'000 * kMs, 3);
  const int64_t steps[] = {100 * kMs, 200 * kMs, 400 * kMs, 800 * kMs, 1'600 * kMs};
  for (uint32_t attempt = 1; attempt <= 5; ++attempt) {
    const int64_t step = steps[attempt - 1];
    const int64_t delay = backoff.delay_for_attempt(attempt);
    EXPECT_GE(delay, step / 2) << "attempt " << attempt;
    EXPECT_LE(delay, step) << "attempt " << attempt;
  }
  const int64_t capped = backoff.delay_for_attempt(1000);
  EXPECT_GE(capped, 15'000 * kMs);
  EXPECT_LE(capped, 30'000 * kMs);
  EXPECT_EQ(backoff.step(), 100 * kMs);  // untouched by delay_for_attempt
}

TEST(Backoff, CappedDoublingHasNoJitterAndNeverOverflows) {
  EXPECT_EQ(capped_doubling(100, 1000, 0), 100);
  EXPECT_EQ(capped_doubling(100, 1000, 1), 100);
  EXPECT_EQ(capped_doubling(100, 1000, 2), 200);
  EXPECT_EQ(capped_doubling(100, 1000, 4), 800);
  EXPECT_EQ(capped_doubling(100, 1000, 5), 1000);
  EXPECT_EQ(capped_doubling(INT64_MAX / 2 + 1, INT64_MAX, 3), INT64_MAX);
  EXPECT_EQ(capped_doubling(1, INT64_MAX, UINT32_MAX), INT64_MAX);
}

TEST(Backoff, AMinAboveMaxOrBelowOneIsClamped) {
  Backoff inverted(500, 100, 9);
  EXPECT_EQ(inverted.min(), 500);
  EXPECT_EQ(inverted.max(), 500);
  inverted.next_delay();
  EXPECT_EQ(inverted.step(), 500);
  Backoff zero(0, 8, 9);
  EXPECT_EQ(zero.step(), 1);  // a zero step would never grow: retries in a tight loop
  zero.next_delay();
  EXPECT_EQ(zero.step(), 2);
}

}  // namespace
}  // namespace sluice
