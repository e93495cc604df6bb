#include "server/prometheus_parser.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "server/prometheus.hpp"

namespace sluice {
namespace {

TEST(PrometheusParser, ReadsWhatTheWriterWrites) {
  PrometheusWriter w;
  w.family("sluice_component_sent_events_total", "counter", "Events out.");
  w.sample("sluice_component_sent_events_total", {{"component", "out"}, {"kind", "sink"}},
           uint64_t{42});
  w.sample("sluice_file_size_bytes", {{"path", "/var/log/a \"quoted\"\\b\nc.log"}}, uint64_t{7});
  w.sample("up_seconds", {}, 1.5);
  PrometheusPage page = parse_prometheus_text(w.text());
  EXPECT_EQ(page.malformed_lines, 0u) << page.first_error;
  ASSERT_EQ(page.samples.size(), 3u);
  EXPECT_EQ(page.samples[0].name, "sluice_component_sent_events_total");
  EXPECT_EQ(page.samples[0].label("component"), "out");
  EXPECT_EQ(page.samples[0].label("kind"), "sink");
  EXPECT_EQ(page.samples[0].label("absent"), "");
  EXPECT_EQ(page.samples[0].value, 42);
  EXPECT_EQ(page.samples[1].label("path"), "/var/log/a \"quoted\"\\b\nc.log");
  EXPECT_TRUE(page.samples[2].labels.empty());
  EXPECT_EQ(page.samples[2].value, 1.5);
}

TEST(PrometheusParser, SpecialValuesTimestampsBlanksAndCrlf) {
  PrometheusPage page = parse_prometheus_text(
      "a NaN\r\n"
      "b +Inf\n"
      "c -Inf 1700000000000\n"
      "\t d{x=\"1\" , y = \"2\",}\t-1.5e3   \n"
      "e 1e999\n"
      "\n"
      "   \n"
      "# HELP a anything {at all\n"
      "#TYPE whatever\n");
  EXPECT_EQ(page.malformed_lines, 0u) << page.first_error;
  ASSERT_EQ(page.samples.size(), 5u);
  EXPECT_TRUE(std::isnan(page.samples[0].value));
  EXPECT_EQ(page.samples[1].value, std::numeric_limits<double>::infinity());
  EXPECT_EQ(page.samples[2].value, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(page.samples[3].name, "d");
  EXPECT_EQ(page.samples[3].label("y"), "2");
  EXPECT_EQ(page.samples[3].value, -1500);
  EXPECT_EQ(page.samples[4].value, std::numeric_limits<double>::infinity());
}

// Each of these lines is malformed; the good lines around them still count.
TEST(PrometheusParser, HostileLinesAreSkippedAndCounted) {
  const std::string bad[] = {
      "{x=\"1\"} 3",                // no name
      "9lives 1",                   // name starts with a digit
      "a{x=\"1\" 2",                // unclosed braces
      "a{x=\"1} 2",                 // unterminated value
      "a{x=\"\\t\"} 2",             // unknown escape
      "a{x=\"1\",x=\"2\"} 2",       // repeated label
      "a{1x=\"1\"} 2",              // bad label name
      "a{x=1} 2",                   // unquoted value
      "a{x=\"1\"}2",                // no blank before the value
      "a",                          // no value
      "a one",                      // not a number
      "a 1 2.5",                    // fractional timestamp
      "a 1 2 3",                    // trailing text
      "a ++1",                      // double sign
      "a 0x10",                     // hex is not a Go float here
      std::string("a\0b 1", 5),     // NUL in the name
      "a{x=\"\\",                   // escape at the end
      "a{x=\"1\"\xff} 1",           // junk byte
      std::string(70 * 1024, 'a'),  // longer than the line limit
  };
  std::string text = "good_before 1\n";
  for (const std::string& line : bad) text += line + "\n";
  text += "good_after 2\n";
  PrometheusPage page = parse_prometheus_text(text);
  EXPECT_EQ(page.malformed_lines, std::size(bad));
  EXPECT_EQ(page.first_error, "line 2: expected a metric name");
  ASSERT_EQ(page.samples.size(), 2u);
  EXPECT_EQ(page.samples[0].name, "good_before");
  EXPECT_EQ(page.samples[1].name, "good_after");
  EXPECT_EQ(page.samples[1].value, 2);
}

TEST(PrometheusParser, LimitsBoundWhatOnePageCanMakeItHold) {
  PrometheusParseLimits limits;
  limits.max_samples = 3;
  limits.max_labels_per_sample = 2;
  PrometheusPage page = parse_prometheus_text(
      "many{a=\"1\",b=\"2\",c=\"3\"} 1\n"
      "s 1\ns 2\ns 3\ns 4\ns 5\n",
      limits);
  EXPECT_EQ(page.malformed_lines, 1u);
  EXPECT_EQ(page.first_error, "line 1: more than 2 labels");
  EXPECT_EQ(page.samples.size(), 3u);
  EXPECT_TRUE(page.truncated);
}

TEST(PrometheusParser, EmptyAndCommentOnlyPagesHaveNoSamples) {
  EXPECT_TRUE(parse_prometheus_text("").samples.empty());
  PrometheusPage page = parse_prometheus_text("# only\n# comments");
  EXPECT_TRUE(page.samples.empty());
  EXPECT_EQ(page.malformed_lines, 0u);
  // The last line needs no newline.
  EXPECT_EQ(parse_prometheus_text("x 1").samples.size(), 1u);
}

// Not the format at all (an HTML error page, a JSON answer): nothing read, every line counted.
TEST(PrometheusParser, SomethingElseEntirely) {
  PrometheusPage page = parse_prometheus_text("<html>\n<body>Not Found</body>\n</html>\n");
  EXPECT_TRUE(page.samples.empty());
  EXPECT_EQ(page.malformed_lines, 3u);
  page = parse_prometheus_text("{\"status\":\"ok\"}");
  EXPECT_TRUE(page.samples.empty());
  EXPECT_EQ(page.malformed_lines, 1u);
}

}  // namespace
}  // namespace sluice
