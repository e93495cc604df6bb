#include "core/event_id.hpp"

#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "support/batch.hpp"

namespace sluice {
namespace {

std::pair<uint64_t, uint64_t> key(EventId id) { return {id.hi, id.lo}; }

TEST(EventId, SameOriginSameIdAcrossBatches) {
  // The same line read twice (a replay after a restart) gets the same id, even in another batch.
  Batch a, b;
  testing::fill_batch(a, {"one", "two"});
  testing::fill_batch(b, {"two"});
  auto origin = std::make_shared<Origin>();
  origin->file_id = 42;
  a.origin = origin;
  b.origin = origin;
  a.events[1].offset = 4;
  b.events[0].offset = 4;
  uint64_t seed = id_seed_for("files");
  EXPECT_EQ(event_id(seed, a, a.events[1]), event_id(seed, b, b.events[0]));
}

TEST(EventId, EachPartOfTheOriginChangesTheId) {
  Batch batch;
  testing::fill_batch(batch, {"x"});
  Event& e = batch.events[0];
  e.offset = 100;
  uint64_t seed = id_seed_for("files");
  std::set<std::pair<uint64_t, uint64_t>> seen;
  seen.insert(key(event_id(seed, batch, e)));
  seen.insert(key(event_id(id_seed_for("other-source"), batch, e)));
  e.offset = 101;
  seen.insert(key(event_id(seed, batch, e)));
  auto origin = std::make_shared<Origin>();
  origin->file_id = 7;
  batch.origin = origin;
  seen.insert(key(event_id(seed, batch, e)));
  // Kafka: the same offset in another partition is another event.
  batch.meta.push_back(Field{"kafka.partition", Value{ValueKind::Number, true, "0"}});
  e.meta_first = 0;
  e.meta_count = 1;
  seen.insert(key(event_id(seed, batch, e)));
  batch.meta[0].value.text = "1";
  seen.insert(key(event_id(seed, batch, e)));
  EXPECT_EQ(seen.size(), 6u);
}

TEST(EventId, MetadataBoundariesMatter) {
  // ("ab","c") and ("a","bc") must not hash alike.
  Batch batch;
  testing::fill_batch(batch, {"x"});
  Event& e = batch.events[0];
  e.meta_count = 1;
  batch.meta.push_back(Field{"ab", Value{ValueKind::String, true, "c"}});
  EventId first = event_id(1, batch, e);
  batch.meta[0] = Field{"a", Value{ValueKind::String, true, "bc"}};
  EXPECT_NE(first, event_id(1, batch, e));
}

TEST(EventId, DistinctOffsetsNeverCollideInPractice) {
  Batch batch;
  testing::fill_batch(batch, {"x"});
  std::set<std::pair<uint64_t, uint64_t>> seen;
  for (uint64_t offset = 0; offset < 100000; ++offset) {
    batch.events[0].offset = offset;
    seen.insert(key(event_id(5, batch, batch.events[0])));
  }
  EXPECT_EQ(seen.size(), 100000u);
}

}  // namespace
}  // namespace sluice
