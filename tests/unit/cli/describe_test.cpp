// `sluice list` and `sluice describe`, printed from the component list's schemas.
#include "cli/describe.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "config/component_list.hpp"

namespace sluice::cli {
namespace {

std::string describe(const std::string& name, bool markdown, std::string* error) {
  return describe_text(DescribeArgs{name, markdown}, error);
}

size_t count_lines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(ListCommand, OneLinePerComponentWithKindTypeAndSummary) {
  std::string out = list_text();
  EXPECT_EQ(count_lines(out), component_list().size());
  for (const ComponentDescriptor* d : component_list()) {
    std::string kind(component_kind_name(d->kind));
    EXPECT_NE(out.find(kind), std::string::npos);
    EXPECT_NE(out.find(d->summary), std::string::npos) << d->qualified_name();
  }
  EXPECT_NE(out.find("sink      elasticsearch  indexes events"), std::string::npos) << out;
}

TEST(DescribeCommand, QualifiedOrUnambiguousNames) {
  std::string error;
  std::string by_type = describe("elasticsearch", false, &error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(by_type, describe("sink/elasticsearch", false, &error));
  EXPECT_EQ(describe("kafka", false, &error), "");
  EXPECT_EQ(error, "`kafka` names more than one component: use source/kafka or sink/kafka");
  error.clear();
  EXPECT_EQ(describe("elasticsaerch", false, &error), "");
  EXPECT_NE(error.find("did you mean `elasticsearch`"), std::string::npos) << error;
}

TEST(DescribeCommand, TextShowsTypesDefaultsNestedOptionsMarksAndSchemes) {
  std::string error;
  std::string out = describe("sink/elasticsearch", false, &error);
  EXPECT_NE(out.find("SLUICE_SINKS schemes: elasticsearch+http:// elasticsearch+https://"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("  endpoints (alias endpoint)  list "), std::string::npos) << out;
  EXPECT_NE(out.find("required"), std::string::npos);
  // Nested options are indented below their mapping, secrets marked.
  size_t auth = out.find("\n  auth ");
  size_t password = out.find("\n    password ");
  ASSERT_NE(auth, std::string::npos) << out;
  ASSERT_NE(password, std::string::npos) << out;
  EXPECT_LT(auth, password);
  EXPECT_NE(out.find("[secret]", password), std::string::npos);
  EXPECT_NE(out.find("none|gzip"), std::string::npos);
  EXPECT_NE(out.find("`sluice describe sink`"), std::string::npos);

  out = describe("transform/filter", false, &error);
  EXPECT_NE(out.find("[reloadable]"), std::string::npos) << out;
  out = describe("source/stdin", false, &error);
  EXPECT_NE(out.find("No options of its own."), std::string::npos) << out;
}

TEST(DescribeCommand, KindsShowTheSharedOptions) {
  std::string error;
  std::string out = describe("source", false, &error);
  for (const char* key : {"max_line_bytes", "multiline", "flush_after", "parser", "timezone"}) {
    EXPECT_NE(out.find(key), std::string::npos) << key;
  }
  EXPECT_EQ(describe("sinks", true, &error), describe("sink", true, &error));
  EXPECT_NE(describe("sink", true, &error).find("| `buffer.when_full` |"), std::string::npos);
}

TEST(DescribeCommand, ConfigShowsTheTopLevel) {
  std::string error;
  std::string out = describe("config", true, &error);
  EXPECT_EQ(error, "");
  EXPECT_NE(out.find("| `health_sink_grace` | duration | `60s` | "), std::string::npos) << out;
  EXPECT_NE(out.find("| `workers` | integer | the number of cores | "), std::string::npos) << out;
}

TEST(DescribeCommand, MarkdownIsOneTableRowPerOption) {
  std::string error;
  std::string out = describe("sink/kafka", true, &error);
  EXPECT_EQ(out.rfind("| option | type | default | description |\n|---|---|---|---|\n", 0), 0u)
      << out;
  const ComponentDescriptor* kafka = find_component(ComponentKind::Sink, "kafka");
  ASSERT_NE(kafka, nullptr);
  EXPECT_EQ(count_lines(out), kafka->options.size() + 2);
  EXPECT_NE(out.find("| `acks` | `all` \\| `1` \\| `0` | `all` | "), std::string::npos) << out;
  EXPECT_NE(out.find("| `brokers` | string | required | "), std::string::npos) << out;
  out = describe("sink/elasticsearch", true, &error);
  EXPECT_NE(out.find("| `auth.password` | string |  | "), std::string::npos) << out;
  EXPECT_NE(out.find("use `${VAR}` — *secret* |"), std::string::npos) << out;
  // Defaults in words are not code.
  EXPECT_NE(out.find("| `default_index` | string | `unknown` in place of the field | "),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace sluice::cli
