// The throttle transform and its token buckets, on an injected clock: no test sleeps, and the
// outcome of every test is fixed by the times it sets.
#include "transforms/throttle.hpp"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "parse/event_parser.hpp"
#include "sluice/source_meta.hpp"
#include "support/batch.hpp"

namespace sluice {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TokenBuckets::Limits limits(double rate, double burst, size_t max_keys = 1000,
                            size_t max_metric_keys = 100) {
  return {.events_per_second = rate,
          .burst = burst,
          .max_keys = max_keys,
          .max_metric_keys = max_metric_keys};
}

// How many of `n` events of `key` at `now_ns` pass.
int passes(TokenBuckets& buckets, std::string_view key, int n, int64_t now_ns) {
  int passed = 0;
  for (int i = 0; i < n; ++i) {
    passed += buckets.take(key, now_ns) == TokenBuckets::Verdict::Pass ? 1 : 0;
  }
  return passed;
}

TEST(TokenBuckets, BurstPassesAtOnceThenTheRate) {
  TokenBuckets buckets(limits(10, 5));
  EXPECT_EQ(passes(buckets, "a", 8, 0), 5);  // the burst, then nothing
  EXPECT_EQ(buckets.dropped(), 3u);
  // 10 per second: 100 ms later one more token, 300 ms later three.
  EXPECT_EQ(passes(buckets, "a", 3, kSecond / 10), 1);
  EXPECT_EQ(passes(buckets, "a", 5, 4 * kSecond / 10), 3);
  // Then one second at a steady 20 per second: half pass.
  int passed = 0;
  for (int i = 1; i <= 20; ++i) {
    passed += passes(buckets, "a", 1, 4 * kSecond / 10 + i * kSecond / 20);
  }
  EXPECT_EQ(passed, 10);
}

TEST(TokenBuckets, RefillIsContinuousAndCappedAtTheBurst) {
  TokenBuckets buckets(limits(0.5, 2));  // one token every 2 s, at most 2
  EXPECT_EQ(passes(buckets, "a", 3, 0), 2);
  EXPECT_EQ(passes(buckets, "a", 1, kSecond), 0);        // half a token
  EXPECT_EQ(passes(buckets, "a", 1, 2 * kSecond), 1);    // the half plus another half
  EXPECT_EQ(passes(buckets, "a", 5, 100 * kSecond), 2);  // a long pause fills it, no more
}

TEST(TokenBuckets, KeysAreIndependent) {
  TokenBuckets buckets(limits(1, 3));
  EXPECT_EQ(passes(buckets, "noisy", 100, 0), 3);
  EXPECT_EQ(passes(buckets, "quiet", 3, 0), 3);
  EXPECT_EQ(passes(buckets, "noisy", 1, 0), 0);
  EXPECT_EQ(passes(buckets, "other", 1, 0), 1);
  // Only keys that dropped have a series.
  EXPECT_EQ(buckets.dropped_per_key(),
            (std::vector<std::pair<std::string, uint64_t>>{{"noisy", 98}}));
}

TEST(TokenBuckets, FirstDropOncePerEpisode) {
  TokenBuckets buckets(limits(1, 2));
  EXPECT_EQ(passes(buckets, "a", 2, 0), 2);
  EXPECT_EQ(buckets.take("a", 0), TokenBuckets::Verdict::FirstDrop);
  EXPECT_EQ(buckets.take("a", 0), TokenBuckets::Verdict::Drop);
  // One token back: passes, and the next drop is still the same episode (never full between).
  EXPECT_EQ(buckets.take("a", kSecond), TokenBuckets::Verdict::Pass);
  EXPECT_EQ(buckets.take("a", kSecond), TokenBuckets::Verdict::Drop);
  // Full again: a new episode.
  EXPECT_EQ(passes(buckets, "a", 2, 10 * kSecond), 2);
  EXPECT_EQ(buckets.take("a", 10 * kSecond), TokenBuckets::Verdict::FirstDrop);
}

TEST(TokenBuckets, IdleBucketsAreForgottenOnceFull) {
  TokenBuckets buckets(limits(1, 4));  // empty to full: 4 s
  EXPECT_EQ(passes(buckets, "old", 10, 0), 4);
  EXPECT_EQ(passes(buckets, "new", 1, 3 * kSecond), 1);
  buckets.forget_idle(3 * kSecond);
  EXPECT_EQ(buckets.live_keys(), 2u);  // "old" holds 3 of 4 tokens: not yet
  buckets.forget_idle(4 * kSecond);
  EXPECT_EQ(buckets.live_keys(), 1u);
  buckets.forget_idle(7 * kSecond);
  EXPECT_EQ(buckets.live_keys(), 0u);
  // Forgetting changed nothing but memory: "old" comes back with a full bucket, and its drops
  // keep adding to its series.
  EXPECT_EQ(passes(buckets, "old", 10, 7 * kSecond), 4);
  auto per_key = buckets.dropped_per_key();
  ASSERT_EQ(per_key.size(), 1u);
  EXPECT_EQ(per_key[0], (std::pair<std::string, uint64_t>{"old", 12}));
  // The forgotten buckets' nodes are reused for new keys (as "old" just did): each still gets
  // a full bucket of its own, under its own key.
  const std::string long_key(40, 'k');
  EXPECT_EQ(passes(buckets, long_key, 6, 7 * kSecond), 4);
  EXPECT_EQ(passes(buckets, "old", 1, 7 * kSecond), 0);
  EXPECT_EQ(buckets.live_keys(), 2u);
  per_key = buckets.dropped_per_key();
  EXPECT_EQ(per_key, (std::vector<std::pair<std::string, uint64_t>>{{"old", 13}, {long_key, 2}}));
}

TEST(TokenBuckets, AtTheBoundTheLeastRecentlyUsedIsEvicted) {
  TokenBuckets buckets(limits(1, 1, /*max_keys=*/3));
  EXPECT_EQ(passes(buckets, "a", 2, 0), 1);
  EXPECT_EQ(passes(buckets, "b", 2, 0), 1);
  EXPECT_EQ(passes(buckets, "c", 2, 0), 1);
  EXPECT_EQ(passes(buckets, "a", 1, 0), 0);  // "a" is now the most recently used
  EXPECT_EQ(passes(buckets, "d", 1, 0), 1);  // evicts "b", the least recently used
  EXPECT_EQ(buckets.live_keys(), 3u);
  EXPECT_EQ(buckets.evicted(), 1u);
  EXPECT_EQ(passes(buckets, "a", 1, 0), 0);  // kept: still empty
  EXPECT_EQ(passes(buckets, "c", 1, 0), 0);  // kept
  EXPECT_EQ(passes(buckets, "b", 1, 0), 1);  // evicted: starts again full (evicts "d")
  EXPECT_EQ(buckets.evicted(), 2u);
  EXPECT_EQ(buckets.live_keys(), 3u);
  // Thousands of distinct keys never hold more than the bound.
  for (int i = 0; i < 5000; ++i) buckets.take("key-" + std::to_string(i), kSecond / 2);
  EXPECT_EQ(buckets.live_keys(), 3u);
  EXPECT_EQ(buckets.evicted(), 5002u);
}

// Keys come from log content: each table hashes them under its own random key, so keys made to
// collide in one table's bucket do not collide in another's (or in another process's).
TEST(TokenBuckets, EachInstanceHashesKeysWithItsOwnRandomKey) {
  TokenBuckets first(limits(1, 1));
  TokenBuckets second(limits(1, 1));
  const std::string_view key = "shop/web-6b7c9d8f5d-k2x7q";
  EXPECT_NE(first.key_hash(key), second.key_hash(key));
  EXPECT_EQ(first.key_hash(key), first.key_hash(key));  // stable within the instance
  // Not the unkeyed std::hash that every process shares.
  EXPECT_NE(first.key_hash(key), std::hash<std::string_view>{}(key));
  // The keyed hash changes nothing of what the buckets do.
  EXPECT_EQ(passes(first, key, 3, 0), 1);
  EXPECT_EQ(passes(second, key, 3, 0), 1);
  EXPECT_EQ(passes(first, key, 1, kSecond), 1);
}

TEST(TokenBuckets, PerKeySeriesAreCappedTheRestSummedUnderOther) {
  TokenBuckets buckets(limits(1, 1, 1000, /*max_metric_keys=*/2));
  for (const char* key : {"a", "b", "c", "d"}) EXPECT_EQ(passes(buckets, key, 3, 0), 1);
  EXPECT_EQ(passes(buckets, "a", 1, 0), 0);
  auto per_key = buckets.dropped_per_key();
  std::map<std::string, uint64_t> got(per_key.begin(), per_key.end());
  EXPECT_EQ(got, (std::map<std::string, uint64_t>{{"a", 3}, {"b", 2}, {"_other", 4}}));
  EXPECT_EQ(buckets.dropped(), 9u);

  TokenBuckets none(limits(1, 1, 1000, 0));
  EXPECT_EQ(passes(none, "a", 3, 0), 1);
  EXPECT_EQ(
      none.dropped_per_key(),
      (std::vector<std::pair<std::string, uint64_t>>{{std::string(TokenBuckets::kOtherKey), 2}}));
}

// --- the transform --------------------------------------------------------------------------

struct FakeClock {
  int64_t now = 0;
};

class ThrottleTest : public ::testing::Test {
 protected:
  std::unique_ptr<ThrottleTransform> make(const std::string& key, TokenBuckets::Limits l,
                                          const std::string& exclude = "") {
    ThrottleOptions o;
    o.name = "t";
    std::string error;
    if (!key.empty()) {
      o.key = Template::parse(key, &error);
      EXPECT_TRUE(o.key) << error;
    }
    if (!exclude.empty()) {
      o.exclude = Condition::compile(exclude, &error);
      EXPECT_TRUE(o.exclude) << error;
    }
    o.limits = l;
    o.clock = [this] { return clock_.now; };
    return std::make_unique<ThrottleTransform>(std::move(o));
  }
  // The `n` field of the events that pass, for JSON lines.
  std::vector<std::string> run(const ThrottleTransform& t, const std::vector<std::string>& lines) {
    Batch batch;
    testing::fill_batch(batch, lines);
    std::string error;
    EventParser::create(ParserOptions{}, &error)->parse(batch, 0);
    SourceMeta meta{"app", "h", false};
    std::vector<Event> out;
    t.apply(batch, meta, batch.events, out);
    std::vector<std::string> passed;
    passed.reserve(out.size());
    for (const Event& e : out) passed.emplace_back(e.line);
    return passed;
  }
  FakeClock clock_;
};

TEST_F(ThrottleTest, KeyTemplateMakesOneBucketPerRenderedKey) {
  auto t = make("{{ ns }}/{{ pod }}", limits(1, 2));
  std::vector<std::string> lines;
  for (int i = 0; i < 5; ++i) {
    lines.push_back(R"({"ns":"a","pod":"web","i":)" + std::to_string(i) + "}");
    lines.push_back(R"({"ns":"a","pod":"db","i":)" + std::to_string(i) + "}");
  }
  lines.push_back(R"({"pod":"web","i":9})");  // no namespace: key "/web"
  auto passed = run(*t, lines);
  EXPECT_EQ(passed, (std::vector<std::string>{
                        R"({"ns":"a","pod":"web","i":0})", R"({"ns":"a","pod":"db","i":0})",
                        R"({"ns":"a","pod":"web","i":1})", R"({"ns":"a","pod":"db","i":1})",
                        R"({"pod":"web","i":9})"}));
  TransformCounters counters;
  t->read_counters(counters);
  EXPECT_EQ(counters.dropped, (std::vector<std::pair<std::string, uint64_t>>{{"throttled", 6}}));
  ASSERT_FALSE(counters.families.empty());
  EXPECT_EQ(counters.families[0].name, "sluice_throttled_events_total");
  EXPECT_EQ(counters.families[0].label, "key");
  std::map<std::string, uint64_t> per_key(counters.families[0].samples.begin(),
                                          counters.families[0].samples.end());
  EXPECT_EQ(per_key, (std::map<std::string, uint64_t>{{"a/web", 3}, {"a/db", 3}}));
  EXPECT_EQ(t->live_keys(), 3u);

  // The injected clock refills: 1 s later each key has one more token.
  clock_.now = kSecond;
  EXPECT_EQ(run(*t, {R"({"ns":"a","pod":"web","i":5})", R"({"ns":"a","pod":"web","i":6})"}),
            (std::vector<std::string>{R"({"ns":"a","pod":"web","i":5})"}));
}

TEST_F(ThrottleTest, WithoutKeyOneBucketForEverything) {
  auto t = make("", limits(0.001, 3));
  auto passed = run(*t, {R"({"a":1})", R"({"b":2})", R"({"c":3})", R"({"d":4})", "plain"});
  EXPECT_EQ(passed.size(), 3u);
  TransformCounters counters;
  t->read_counters(counters);
  EXPECT_EQ(counters.dropped[0].second, 2u);
  for (const auto& f : counters.families) EXPECT_NE(f.name, "sluice_throttled_events_total");
}

TEST_F(ThrottleTest, ExcludedEventsAlwaysPassAndTakeNoToken) {
  auto t = make("{{ pod }}", limits(0.001, 1), "level >= error");
  auto passed = run(*t, {R"({"pod":"p","level":"error","i":1})", R"({"pod":"p","i":2})",
                         R"({"pod":"p","level":"error","i":3})", R"({"pod":"p","i":4})"});
  EXPECT_EQ(passed, (std::vector<std::string>{R"({"pod":"p","level":"error","i":1})",
                                              R"({"pod":"p","i":2})",
                                              R"({"pod":"p","level":"error","i":3})"}));
}

TEST_F(ThrottleTest, LongKeysAreCut) {
  auto t = make("{{ k }}", limits(0.001, 1));
  const std::string a(ThrottleTransform::kMaxKeyBytes, 'x');
  // Same first kMaxKeyBytes bytes: the same bucket.
  auto passed = run(*t, {R"({"k":")" + a + R"(1"})", R"({"k":")" + a + R"(2"})"});
  EXPECT_EQ(passed.size(), 1u);
  TransformCounters counters;
  t->read_counters(counters);
  ASSERT_EQ(counters.families[0].samples.size(), 1u);
  EXPECT_EQ(counters.families[0].samples[0].first, a);
}

TEST_F(ThrottleTest, IdleKeysAreForgottenAsBatchesArriveAndWhenRead) {
  auto t = make("{{ k }}", limits(1, 2));
  run(*t, {R"({"k":"a"})", R"({"k":"b"})"});
  EXPECT_EQ(t->live_keys(), 2u);
  clock_.now = 5 * kSecond;  // both full again after 2 s
  run(*t, {R"({"k":"c"})"});
  EXPECT_EQ(t->live_keys(), 1u);
  clock_.now = 10 * kSecond;  // no batch since: a scrape still sees the bucket gone
  TransformCounters counters;
  t->read_counters(counters);
  for (const auto& f : counters.families) {
    if (f.name == "sluice_throttle_keys") {
      EXPECT_EQ(f.samples.at(0).second, 0u);
    }
  }
  EXPECT_EQ(t->live_keys(), 0u);
}

// The workers apply the transform to their batches concurrently: the buckets are shared, so
// with the clock standing still exactly `burst` events pass per key, whoever applies them.
TEST_F(ThrottleTest, ConcurrentBatchesShareTheBuckets) {
  auto t = make("{{ k }}", limits(0.001, 100));
  std::vector<std::string> lines;
  lines.reserve(500);
  for (int i = 0; i < 500; ++i) lines.push_back(R"({"k":")" + std::to_string(i % 5) + R"("})");
  Batch batches[4];
  std::vector<Event> outs[4];
  std::string error;
  auto parser = EventParser::create(ParserOptions{}, &error);
  for (Batch& batch : batches) {
    testing::fill_batch(batch, lines);
    parser->parse(batch, 0);
  }
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      SourceMeta meta{"app", "h", false};
      for (int round = 0; round < 10; ++round) {
        std::vector<Event> out;
        t->apply(batches[w], meta, batches[w].events, out);
        outs[w].insert(outs[w].end(), out.begin(), out.end());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::map<std::string, int> passed;
  for (auto& out : outs) {
    for (const Event& e : out) ++passed[std::string(e.line)];
  }
  std::map<std::string, int> expected;
  for (int k = 0; k < 5; ++k) expected[R"({"k":")" + std::to_string(k) + R"("})"] = 100;
  EXPECT_EQ(passed, expected);
  TransformCounters counters;
  t->read_counters(counters);
  EXPECT_EQ(counters.dropped.at(0).second, 4u * 10 * 500 - 500);
}

}  // namespace
}  // namespace sluice
