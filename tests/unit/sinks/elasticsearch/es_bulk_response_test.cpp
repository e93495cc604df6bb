// Reading `_bulk` answers: the errors:false fast path, per-item statuses and errors, malformed
// answers and item count mismatches (whole-request retry), and the fate of items and requests.
#include "sinks/elasticsearch/bulk_response.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::es {
namespace {

TEST(EsBulkResponse, ErrorsFalseIsTheFastPath) {
  BulkResponseParser parser;
  std::string body = R"({"took":3,"errors":false,"items":[{"index":{"status":201}}]})";
  EXPECT_EQ(parser.parse(body, 1).kind, BulkParse::Kind::AllStored);
  // A trivial endpoint's answer, and items that are not read (their count does not matter).
  body = R"({"errors":false})";
  EXPECT_EQ(parser.parse(body, 500).kind, BulkParse::Kind::AllStored);
  body = R"({"errors":false,"items":[{"index":{"status":201}}]})";
  EXPECT_EQ(parser.parse(body, 7).kind, BulkParse::Kind::AllStored);
  EXPECT_TRUE(parser.items().empty());
}

TEST(EsBulkResponse, MixedStatusesPerItem) {
  BulkResponseParser parser;
  std::string body = R"({"took":30,"errors":true,"items":[
    {"index":{"_index":"logs","_id":"a","status":201,"result":"created"}},
    {"index":{"_index":"logs","_id":"b","status":429,"error":{"type":"es_rejected_execution_exception",
      "reason":"rejected execution of coordinating operation"}}},
    {"create":{"_index":"logs","_id":"c","status":409,"error":{"type":"version_conflict_engine_exception",
      "reason":"[c]: version conflict, document already exists"}}},
    {"index":{"_index":"logs","_id":"d","status":400,"error":{"type":"mapper_parsing_exception",
      "reason":"failed to parse field [n] of type [long]","caused_by":{"type":"x","reason":"y"}}}},
    {"index":{"status":503,"error":"unavailable_shards_exception"}}
  ]})";
  BulkParse parse = parser.parse(body, 5);
  ASSERT_EQ(parse.kind, BulkParse::Kind::Items) << parse.error;
  const auto& items = parser.items();
  ASSERT_EQ(items.size(), 5u);
  EXPECT_EQ(items[0].status, 201);
  EXPECT_EQ(items[0].error, "");
  EXPECT_EQ(items[1].status, 429);
  EXPECT_EQ(items[1].error,
            "es_rejected_execution_exception: rejected execution of coordinating operation");
  EXPECT_EQ(items[2].status, 409);
  EXPECT_EQ(items[3].status, 400);
  EXPECT_EQ(items[3].error, "mapper_parsing_exception: failed to parse field [n] of type [long]");
  EXPECT_EQ(items[4].status, 503);
  EXPECT_EQ(items[4].error, "unavailable_shards_exception");
}

TEST(EsBulkResponse, ItemsBeforeErrorsAreReadToo) {
  BulkResponseParser parser;
  std::string body =
      R"({"items":[{"index":{"status":200}},{"index":{"status":500}}],"errors":true})";
  ASSERT_EQ(parser.parse(body, 2).kind, BulkParse::Kind::Items);
  EXPECT_EQ(parser.items()[1].status, 500);
}

TEST(EsBulkResponse, MalformedAnswersRetryTheWholeRequest) {
  BulkResponseParser parser;
  for (std::string body : {
           std::string(""),
           std::string("not json"),
           std::string("[1,2]"),
           std::string(R"({"errors":true,"items":[{"index":{"status":201}})"),  // truncated
           std::string(R"({"errors":true})"),                                   // no items
           std::string(R"({"items":[{"index":{"status":201}}]})"),              // no errors
           std::string(R"({"errors":"yes","items":[]})"),
           std::string(R"({"errors":true,"items":[{"index":{"result":"created"}}]})"),
           std::string(R"({"errors":true,"items":[{"index":{"status":"201"}}]})"),
           std::string(R"({"errors":true,"items":[{}]})"),
           std::string(R"({"errors":true,"items":[3]})"),
           std::string(R"({"error":{"type":"illegal_argument_exception"},"status":400})"),
       }) {
    BulkParse parse = parser.parse(body, 1);
    EXPECT_EQ(parse.kind, BulkParse::Kind::Malformed) << body;
    EXPECT_FALSE(parse.error.empty()) << body;
    EXPECT_TRUE(parser.items().empty()) << body;
  }
}

TEST(EsBulkResponse, ItemCountMismatchRetriesTheWholeRequest) {
  BulkResponseParser parser;
  std::string body =
      R"({"errors":true,"items":[{"index":{"status":201}},{"index":{"status":429}}]})";
  BulkParse parse = parser.parse(body, 3);
  EXPECT_EQ(parse.kind, BulkParse::Kind::Malformed);
  EXPECT_NE(parse.error.find("2 items in the answer to 3 actions"), std::string::npos)
      << parse.error;
  body = R"({"errors":true,"items":[{"index":{"status":201}},{"index":{"status":429}}]})";
  EXPECT_EQ(parser.parse(body, 2).kind, BulkParse::Kind::Items);
}

TEST(EsBulkResponse, ParserIsReusedAcrossAnswers) {
  BulkResponseParser parser;
  std::string first = R"({"errors":true,"items":[{"index":{"status":400,"error":{"type":"t"}}}]})";
  ASSERT_EQ(parser.parse(first, 1).kind, BulkParse::Kind::Items);
  EXPECT_EQ(parser.items()[0].error, "t");
  std::string second =
      R"({"errors":true,"items":[{"index":{"status":201}},{"index":{"status":201}}]})";
  ASSERT_EQ(parser.parse(second, 2).kind, BulkParse::Kind::Items);
  ASSERT_EQ(parser.items().size(), 2u);
  EXPECT_EQ(parser.items()[0].error, "");
}

TEST(EsBulkResponse, ItemFates) {
  EXPECT_EQ(item_fate(200, false), ItemFate::Stored);
  EXPECT_EQ(item_fate(201, true), ItemFate::Stored);
  EXPECT_EQ(item_fate(409, true), ItemFate::AlreadyPresent);
  EXPECT_EQ(item_fate(409, false), ItemFate::DeadLetter);  // `index`, or no id: a real conflict
  EXPECT_EQ(item_fate(429, false), ItemFate::Retry);
  EXPECT_EQ(item_fate(500, false), ItemFate::Retry);
  EXPECT_EQ(item_fate(503, true), ItemFate::Retry);
  EXPECT_EQ(item_fate(400, false), ItemFate::DeadLetter);
  EXPECT_EQ(item_fate(404, false), ItemFate::DeadLetter);
}

TEST(EsBulkResponse, RequestFates) {
  EXPECT_EQ(request_fate(false, 0), RequestFate::Retry);
  EXPECT_EQ(request_fate(true, 200), RequestFate::ReadItems);
  EXPECT_EQ(request_fate(true, 429), RequestFate::Retry);
  EXPECT_EQ(request_fate(true, 502), RequestFate::Retry);
  EXPECT_EQ(request_fate(true, 503), RequestFate::Retry);
  EXPECT_EQ(request_fate(true, 413), RequestFate::Split);
  EXPECT_EQ(request_fate(true, 400), RequestFate::Misconfigured);
  EXPECT_EQ(request_fate(true, 401), RequestFate::Misconfigured);
  EXPECT_EQ(request_fate(true, 403), RequestFate::Misconfigured);
  EXPECT_EQ(request_fate(true, 404), RequestFate::Misconfigured);
  EXPECT_EQ(request_fate(true, 301), RequestFate::Misconfigured);
}

TEST(EsBulkResponse, BodyExcerptCutsAtACharacter) {
  EXPECT_EQ(body_excerpt("short"), "short");
  EXPECT_EQ(body_excerpt("ab\xc3\xa9", 3), "ab…");
  EXPECT_EQ(body_excerpt("abcdef", 3), "abc…");
}

}  // namespace
}  // namespace sluice::es
