// The tap (core/tap.hpp): its rate limit, its sample, its bounded buffer and the registry that
// opens, caps and closes streams. Time is passed in, so nothing here depends on a clock.
#include "core/tap.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "parse/event_parser.hpp"
#include "support/batch.hpp"

namespace sluice {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStart = 1000 * kSecond;

TEST(TapRateLimit, StartsWithOneSecondsWorth) {
  TapRateLimit limit(100, kStart);
  EXPECT_EQ(limit.take(60, kStart), 60u);
  EXPECT_EQ(limit.take(60, kStart), 40u);
  EXPECT_EQ(limit.take(1, kStart), 0u);
}

TEST(TapRateLimit, RefillsInProportionToTheTimePassed) {
  TapRateLimit limit(100, kStart);
  EXPECT_EQ(limit.take(100, kStart), 100u);
  EXPECT_EQ(limit.take(100, kStart + kSecond / 4), 25u);
  EXPECT_EQ(limit.take(100, kStart + kSecond / 2), 25u);
}

TEST(TapRateLimit, HoldsNoMoreThanOneSecondAfterAnIdleSpell) {
  TapRateLimit limit(10, kStart);
  EXPECT_EQ(limit.take(10, kStart), 10u);
  EXPECT_EQ(limit.take(1000, kStart + 3600 * kSecond), 10u);
}

TEST(TapRateLimit, TimeGoingBackwardsAddsNothing) {
  TapRateLimit limit(10, kStart);
  EXPECT_EQ(limit.take(10, kStart), 10u);
  EXPECT_EQ(limit.take(10, kStart - kSecond), 0u);
  EXPECT_EQ(limit.take(10, kStart + kSecond / 2), 5u);
}

class TapStreamTest : public ::testing::Test {
 protected:
  void fill(size_t count) {
    std::vector<std::string> lines;
    for (size_t i = 0; i < count; ++i) lines.push_back("line " + std::to_string(i));
    testing::fill_batch(batch, lines);
    batch.stream = "stdout";
    batch.read_time_ns = 1'700'000'000 * kSecond;
    std::string error;
    auto parser = EventParser::create(ParserOptions{}, &error);
    parser->parse(batch, batch.read_time_ns);
  }
  std::string drained(TapStream& stream, int64_t now_ns) {
    ByteBuffer out;
    stream.drain(out, now_ns);
    return std::string(out.view());
  }
  static size_t count_of(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  Batch batch;
  SourceMeta meta{"app", "host1", false};
};

TEST_F(TapStreamTest, EncodesEachSampledEventAsAJsonLineNamingItsComponent) {
  fill(2);
  TapStream stream({"app"}, TapRequest{}, kStart);
  stream.offer("app", batch, batch.events, meta, kStart);
  const std::string out = drained(stream, kStart);
  EXPECT_EQ(count_of(out, "\n"), 2u);
  EXPECT_EQ(out.find(R"({"component":"app","event":{"@timestamp":)"), 0u);
  EXPECT_NE(out.find(R"("message":"line 0")"), std::string::npos);
  EXPECT_NE(out.find(R"("message":"line 1")"), std::string::npos);
  EXPECT_EQ(out.find("notice"), std::string::npos);  // nothing was skipped
  EXPECT_EQ(drained(stream, kStart), "");            // taken once
}

TEST_F(TapStreamTest, TextStreamsCarryTheTextEncodingAsAJsonString) {
  fill(1);
  TapRequest request;
  request.text = true;
  TapStream stream({"app"}, request, kStart);
  stream.offer("app", batch, batch.events, meta, kStart);
  const std::string out = drained(stream, kStart);
  EXPECT_EQ(out.find(R"({"component":"app","text":")"), 0u);
  EXPECT_NE(out.find("line 0"), std::string::npos);
  EXPECT_EQ(out.find("\\u001b"), std::string::npos);  // no colours unless asked
  EXPECT_EQ(count_of(out, "\n"), 1u);
}

TEST_F(TapStreamTest, OverTheRateEventsAreSkippedCountedAndTheSampleIsSpreadOverTheBatch) {
  fill(10);
  TapRequest request;
  request.rate = 2;
  TapStream stream({"app"}, request, kStart);
  stream.offer("app", batch, batch.events, meta, kStart);
  const std::string out = drained(stream, kStart);
  EXPECT_NE(out.find(R"("message":"line 0")"), std::string::npos);
  EXPECT_NE(out.find(R"("message":"line 5")"), std::string::npos);
  EXPECT_EQ(count_of(out, R"("component":"app")"), 2u);
  EXPECT_NE(out.find(R"({"notice":"skipped","events":8,"rate_limit":8,"slow_reader":0})"),
            std::string::npos);
  EXPECT_EQ(stream.skipped_total().rate_limit, 8u);
}

TEST_F(TapStreamTest, TheSkippedNoticeComesAtMostOnceASecond) {
  fill(10);
  TapRequest request;
  request.rate = 1;
  TapStream stream({"app"}, request, kStart);
  stream.offer("app", batch, batch.events, meta, kStart);
  EXPECT_EQ(count_of(drained(stream, kStart), "\"notice\""), 1u);
  stream.offer("app", batch, batch.events, meta, kStart + kSecond / 2);
  EXPECT_EQ(count_of(drained(stream, kStart + kSecond / 2), "\"notice\""), 0u);
  // The half second's skips are not lost: they are in the next notice.
  const std::string later = drained(stream, kStart + kSecond);
  EXPECT_NE(later.find(R"("events":10,)"), std::string::npos) << later;
}

TEST_F(TapStreamTest, AFullBufferSkipsAndCountsInsteadOfGrowing) {
  fill(200);
  TapRequest request;
  request.rate = 1000;
  TapStream stream({"app"}, request, kStart, /*buffer_bytes=*/2048);
  stream.offer("app", batch, batch.events, meta, kStart);
  stream.offer("app", batch, batch.events, meta, kStart);  // nobody drained: all skipped
  const TapSkipped skipped = stream.skipped_total();
  EXPECT_GT(skipped.slow_reader, 200u);
  ByteBuffer out;
  stream.drain(out, kStart);
  EXPECT_LE(out.view().find(R"({"notice")"), 2048u);
  const size_t events = count_of(std::string(out.view()), R"("component":"app")");
  EXPECT_EQ(events + skipped.slow_reader + skipped.rate_limit, 400u);
  // Once drained, there is room again.
  stream.offer("app", batch, batch.events, meta, kStart + kSecond);
  EXPECT_NE(drained(stream, kStart + kSecond).find(R"("component":"app")"), std::string::npos);
}

TEST_F(TapStreamTest, OpeningLineNamesTheComponentsAndTheRate) {
  TapRequest request;
  request.rate = 7;
  TapStream stream({"app", "parse \"x\""}, request, kStart);
  EXPECT_EQ(stream.opening_line(),
            R"({"notice":"tapping","components":["app","parse \"x\""],"rate":7})"
            "\n");
}

const std::vector<TapComponent> kKnown = {{"app", "source"}, {"errors", "transform"}};

TEST(TapRegistry, ActiveOnlyWhileAStreamIsOpen) {
  TapRegistry registry;
  EXPECT_FALSE(registry.active());
  TapOpened opened = registry.open(TapRequest{}, kKnown, kStart);
  ASSERT_NE(opened.subscription, nullptr);
  EXPECT_TRUE(registry.active());
  opened.subscription.reset();
  EXPECT_FALSE(registry.active());
}

TEST(TapRegistry, NoComponentNamedMeansEverySourceAndTransform) {
  TapRegistry registry;
  TapOpened opened = registry.open(TapRequest{}, kKnown, kStart);
  ASSERT_NE(opened.subscription, nullptr);
  EXPECT_EQ(opened.subscription->stream().components(),
            (std::vector<std::string>{"app", "errors"}));
}

TEST(TapRegistry, UnknownComponentIs404WithTheNamesThatExist) {
  TapRegistry registry;
  TapRequest request;
  request.components = {"app", "nope"};
  TapOpened opened = registry.open(request, kKnown, kStart);
  EXPECT_EQ(opened.subscription, nullptr);
  EXPECT_EQ(opened.status, 404);
  EXPECT_NE(opened.body.find(R"("unknown":["nope"])"), std::string::npos) << opened.body;
  EXPECT_NE(opened.body.find(R"({"name":"errors","kind":"transform"})"), std::string::npos);
  EXPECT_FALSE(registry.active());
}

TEST(TapRegistry, StreamsBeyondTheCapAre503UntilOneCloses) {
  TapRegistry registry(2);
  TapOpened first = registry.open(TapRequest{}, kKnown, kStart);
  TapOpened second = registry.open(TapRequest{}, kKnown, kStart);
  ASSERT_NE(second.subscription, nullptr);
  TapOpened third = registry.open(TapRequest{}, kKnown, kStart);
  EXPECT_EQ(third.subscription, nullptr);
  EXPECT_EQ(third.status, 503);
  EXPECT_NE(third.body.find("at most 2"), std::string::npos) << third.body;
  first.subscription.reset();
  EXPECT_NE(registry.open(TapRequest{}, kKnown, kStart).subscription, nullptr);
}

TEST(TapRegistry, RateOutOfRangeIs400) {
  TapRegistry registry;
  TapRequest request;
  request.rate = 0;
  EXPECT_EQ(registry.open(request, kKnown, kStart).status, 400);
  request.rate = kMaxTapRate + 1;
  EXPECT_EQ(registry.open(request, kKnown, kStart).status, 400);
}

TEST(TapRegistry, OffersABatchOnlyToTheStreamsTappingItsComponent) {
  Batch batch;
  testing::fill_batch(batch, {"one"});
  const SourceMeta meta{"app", "host1", false};
  TapRegistry registry;
  TapRequest only_errors;
  only_errors.components = {"errors"};
  TapOpened errors = registry.open(only_errors, kKnown, kStart);
  TapOpened all = registry.open(TapRequest{}, kKnown, kStart);
  registry.offer("app", batch, batch.events, meta, kStart);
  ByteBuffer out;
  errors.subscription->stream().drain(out, kStart);
  EXPECT_TRUE(out.empty());
  all.subscription->stream().drain(out, kStart);
  EXPECT_NE(out.view().find(R"({"component":"app")"), std::string::npos);
}

}  // namespace
}  // namespace sluice
