// read_watch_event(): one line of a watch stream into a PodWatchTarget over a real PodCache, as
// the pod watch reads it.
#include "sources/container/watch_event.hpp"

#include <gtest/gtest.h>

#include <string>

#include "pod_json.hpp"
#include "sources/container/pod_cache.hpp"
#include "sources/container/pod_watch_target.hpp"

namespace sluice::kube {
namespace {

struct EventFixture {
  // One event line; false with `error` set when unreadable.
  bool read(const std::string& line) {
    type.clear();
    head = ObjectHead{};
    error.clear();
    return read_watch_event(parser, padded_copy, line, target, &type, &head, &error);
  }

  PodCache cache;
  PodExtractOptions options;
  PodWatchTarget target{cache, options};
  simdjson::ondemand::parser parser;
  std::string padded_copy;
  std::string type;
  ObjectHead head;
  std::string error;
};

TEST(WatchEvent, PodEventIsReadIntoTheTargetAndAppliedToTheCache) {
  EventFixture f;
  test::PodSpec spec;
  spec.resource_version = "2001";
  ASSERT_TRUE(f.read(test::event("ADDED", spec))) << f.error;
  EXPECT_EQ(f.type, "ADDED");
  EXPECT_EQ(f.head.kind, "Pod");
  EXPECT_EQ(f.head.resource_version, "2001");
  EXPECT_EQ(f.cache.size(), 0U);  // read, not yet applied: that is the watch's decision
  f.target.apply(f.type);
  ASSERT_NE(f.cache.find(spec.namespace_name, spec.name), nullptr);
  EXPECT_EQ(f.cache.find(spec.namespace_name, spec.name)->uid, spec.uid);
  EXPECT_EQ(f.cache.find_uid(spec.uid)->resource_version, "2001");

  ASSERT_TRUE(f.read(test::event("DELETED", spec))) << f.error;
  f.target.apply(f.type);
  EXPECT_EQ(f.cache.find_uid(spec.uid), nullptr);
}

TEST(WatchEvent, ErrorEventGivesItsStatusCode) {
  EventFixture f;
  const std::string gone =
      R"js({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},)js"
      R"js("status":"Failure","message":"too old resource version: 100 (400)",)js"
      R"js("reason":"Expired","code":410}})js";
  ASSERT_TRUE(f.read(gone)) << f.error;
  EXPECT_EQ(f.type, "ERROR");
  EXPECT_EQ(f.head.kind, "Status");
  EXPECT_EQ(f.head.code, 410);
  EXPECT_EQ(f.head.message, "too old resource version: 100 (400)");
}

TEST(WatchEvent, BookmarkGivesItsResourceVersion) {
  EventFixture f;
  ASSERT_TRUE(f.read(test::bookmark("3003"))) << f.error;
  EXPECT_EQ(f.type, "BOOKMARK");
  EXPECT_EQ(f.head.resource_version, "3003");
}

TEST(WatchEvent, UnreadableEventsSayWhy) {
  EventFixture f;
  EXPECT_FALSE(f.read("not json"));
  EXPECT_EQ(f.error, "not a JSON object");
  EXPECT_FALSE(f.read(R"(["ADDED"])"));
  EXPECT_EQ(f.error, "not a JSON object");
  EXPECT_FALSE(f.read(R"({"type":1,"object":{}})"));
  EXPECT_EQ(f.error, "type is not a string");
  EXPECT_FALSE(f.read(R"({"type":"ADDED","object":[]})"));
  EXPECT_EQ(f.error, "object is not an object");
  EXPECT_FALSE(f.read(R"({"type":"ADDED"})"));
  EXPECT_EQ(f.error, "an event without object");
  EXPECT_FALSE(f.read(R"({"type":"ADDED","object":{"metadata":{"uid":7}}})"));
  EXPECT_EQ(f.error, "metadata.uid is not a string");
  EXPECT_FALSE(f.read(R"({"type":"ADDED","object":{}, "x" 1})"));
  EXPECT_FALSE(f.error.empty());
}

TEST(WatchEvent, CopyOfALargeEventIsGivenBack) {
  EventFixture f;
  test::PodSpec spec;
  spec.last_applied_bytes = 2U << 20;
  ASSERT_TRUE(f.read(test::event("MODIFIED", spec))) << f.error;
  EXPECT_LE(f.padded_copy.capacity(), 1U << 20);
  // A small one keeps its copy's capacity for the next.
  ASSERT_TRUE(f.read(test::event("MODIFIED", test::PodSpec{}))) << f.error;
  EXPECT_GT(f.padded_copy.capacity(), 1000U);
}

}  // namespace
}  // namespace sluice::kube
