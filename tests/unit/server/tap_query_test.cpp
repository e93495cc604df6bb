#include "server/tap_query.hpp"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(TapQuery, DefaultsWhenEmpty) {
  TapRequest request;
  std::string error;
  ASSERT_TRUE(parse_tap_query("", &request, &error));
  EXPECT_TRUE(request.components.empty());
  EXPECT_EQ(request.rate, kDefaultTapRate);
  EXPECT_FALSE(request.text);
}

TEST(TapQuery, ComponentsCommaSeparatedRepeatableAndPercentDecoded) {
  TapRequest request;
  std::string error;
  ASSERT_TRUE(parse_tap_query("components=a,b&components=c%2Cd%20e,,&rate=5&format=text&color=1",
                              &request, &error))
      << error;
  EXPECT_EQ(request.components, (std::vector<std::string>{"a", "b", "c", "d e"}));
  EXPECT_EQ(request.rate, 5u);
  EXPECT_TRUE(request.text);
  EXPECT_TRUE(request.color);
}

TEST(TapQuery, BadValuesAndUnknownParametersAreRefusedWithTheReason) {
  const char* bad[] = {"rate=0",     "rate=abc",      "rate=100001",   "format=yaml",
                       "color=blue", "component=app", "components=%4", "components=%zz"};
  for (const char* query : bad) {
    TapRequest request;
    std::string error;
    EXPECT_FALSE(parse_tap_query(query, &request, &error)) << query;
    EXPECT_FALSE(error.empty()) << query;
  }
  TapRequest request;
  std::string error;
  parse_tap_query("component=app", &request, &error);
  EXPECT_NE(error.find("unknown parameter `component`"), std::string::npos) << error;
}

}  // namespace
}  // namespace sluice
