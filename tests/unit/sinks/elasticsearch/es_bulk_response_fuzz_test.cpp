// `_bulk` answers found by tests/fuzz/fuzz_es_bulk_response.cpp (the reproducers are kept in
// tests/fuzz/regressions/fuzz_es_bulk_response-*).
#include <gtest/gtest.h>

#include <string>

#include "sinks/elasticsearch/bulk_response.hpp"

namespace sluice::es {
namespace {

// fuzz_es_bulk_response-status-800, -status-wraps-to-201: an item's status was narrowed from
// int64 to int unchecked, so 4294967497 read as 201 and the item counted as stored.
TEST(EsBulkResponseFuzz, ItemStatusMustBeAnHttpStatus) {
  BulkResponseParser parser;
  for (const char* status : {"4294967497", "800", "99", "-201", "600"}) {
    std::string body =
        std::string(R"({"errors":true,"items":[{"index":{"status":)") + status + "}}]}";
    BulkParse parse = parser.parse(body, 1);
    EXPECT_EQ(parse.kind, BulkParse::Kind::Malformed) << status;
    EXPECT_NE(parse.error.find("HTTP status"), std::string::npos) << parse.error;
    EXPECT_TRUE(parser.items().empty()) << status;
  }
  for (const char* status : {"100", "201", "599"}) {
    std::string body =
        std::string(R"({"errors":true,"items":[{"index":{"status":)") + status + "}}]}";
    ASSERT_EQ(parser.parse(body, 1).kind, BulkParse::Kind::Items) << status;
    EXPECT_EQ(std::to_string(parser.items()[0].status), status);
  }
}

// fuzz_es_bulk_response-duplicate-errors-key: the transport's all_stored() reads the first
// `errors`, parse() went on to a second one: `errors:true … errors:false` was retried by one and
// taken as stored by the other. Two `items` arrays were concatenated.
TEST(EsBulkResponseFuzz, RepeatedErrorsOrItemsIsMalformed) {
  BulkResponseParser parser;
  std::string body = R"({"errors":true,"errors":false,"items":[{"index":{"status":201}}]})";
  EXPECT_FALSE(parser.all_stored(body));
  BulkParse parse = parser.parse(body, 1);
  EXPECT_EQ(parse.kind, BulkParse::Kind::Malformed);
  EXPECT_NE(parse.error.find("`errors` appears twice"), std::string::npos) << parse.error;

  body = R"({"errors":true,"items":[{"index":{"status":201}}],"items":[{"index":{"status":400}}]})";
  parse = parser.parse(body, 2);
  EXPECT_EQ(parse.kind, BulkParse::Kind::Malformed);
  EXPECT_NE(parse.error.find("`items` appears twice"), std::string::npos) << parse.error;
  EXPECT_TRUE(parser.items().empty());
}

// fuzz_es_bulk_response-items-left-on-malformed, -items-left-on-all-stored: items read before
// the answer turned out malformed, or before a late `errors: false`, stayed in items().
TEST(EsBulkResponseFuzz, ItemsAreOnlyKeptForAnItemsAnswer) {
  BulkResponseParser parser;
  std::string body = R"({"items":[{"index":{"status":200}},{"index":{"status":500}}],"erro"r:x})";
  EXPECT_EQ(parser.parse(body, 2).kind, BulkParse::Kind::Malformed);
  EXPECT_TRUE(parser.items().empty());

  body = R"({"items":[{"index":{"status":200}}],"errors":"no"})";
  EXPECT_EQ(parser.parse(body, 1).kind, BulkParse::Kind::Malformed);
  EXPECT_TRUE(parser.items().empty());

  body = R"({"items":[{"index":{"status":200}}],"errors":false})";
  EXPECT_EQ(parser.parse(body, 1).kind, BulkParse::Kind::AllStored);
  EXPECT_TRUE(parser.items().empty());
  EXPECT_TRUE(parser.all_stored(body));
}

}  // namespace
}  // namespace sluice::es
