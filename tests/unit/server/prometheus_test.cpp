#include "server/prometheus.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace sluice {
namespace {

TEST(Prometheus, FamilyHeaderThenSamples) {
  PrometheusWriter w;
  w.family("sluice_events_in_total", "counter", "Events received.");
  w.sample("sluice_events_in_total", {{"component", "app"}}, uint64_t{42});
  w.sample("sluice_events_in_total", {{"component", "tidy"}}, uint64_t{7});
  EXPECT_EQ(w.text(),
            "# HELP sluice_events_in_total Events received.\n"
            "# TYPE sluice_events_in_total counter\n"
            "sluice_events_in_total{component=\"app\"} 42\n"
            "sluice_events_in_total{component=\"tidy\"} 7\n");
}

TEST(Prometheus, NoLabelsNoBraces) {
  PrometheusWriter w;
  w.family("up_seconds", "gauge", "Uptime.");
  w.sample("up_seconds", {}, 1.5);
  EXPECT_EQ(w.text(), "# HELP up_seconds Uptime.\n# TYPE up_seconds gauge\nup_seconds 1.5\n");
}

TEST(Prometheus, HelpAndTypeOnlyOnce) {
  PrometheusWriter w;
  w.family("a", "counter", "first");
  w.family("a", "gauge", "second");
  w.sample("a", {}, uint64_t{1});
  EXPECT_EQ(w.text(), "# HELP a first\n# TYPE a counter\na 1\n");
}

TEST(Prometheus, SamplesGroupedByFamilyWhateverTheCallOrder) {
  PrometheusWriter w;
  w.family("a", "counter", "A.");
  w.family("b", "gauge", "B.");
  w.sample("a", {{"x", "1"}}, uint64_t{1});
  w.sample("b", {{"x", "1"}}, uint64_t{2});
  w.sample("a", {{"x", "2"}}, uint64_t{3});
  EXPECT_EQ(w.text(),
            "# HELP a A.\n# TYPE a counter\na{x=\"1\"} 1\na{x=\"2\"} 3\n"
            "# HELP b B.\n# TYPE b gauge\nb{x=\"1\"} 2\n");
}

TEST(Prometheus, DeclarationAfterSamplesStillLeads) {
  PrometheusWriter w;
  w.sample("late", {}, uint64_t{5});
  w.family("late", "gauge", "Declared late.");
  EXPECT_EQ(w.text(), "# HELP late Declared late.\n# TYPE late gauge\nlate 5\n");
}

TEST(Prometheus, UndeclaredFamilyHasNoHeader) {
  PrometheusWriter w;
  w.sample("plain", {}, uint64_t{1});
  EXPECT_EQ(w.text(), "plain 1\n");
}

TEST(Prometheus, UnknownTypeIsUntyped) {
  PrometheusWriter w;
  w.family("h", "histogram", "Not supported here.");
  EXPECT_EQ(w.text(), "# HELP h Not supported here.\n# TYPE h untyped\n");
}

TEST(Prometheus, LabelValuesEscaped) {
  PrometheusWriter w;
  w.sample("m", {{"path", "C:\\dir\\\"x\"\nnext"}}, uint64_t{1});
  EXPECT_EQ(w.text(), "m{path=\"C:\\\\dir\\\\\\\"x\\\"\\nnext\"} 1\n");
}

// File names are bytes: each invalid UTF-8 byte becomes U+FFFD, valid multi-byte characters
// stay, and escaping still applies around them.
TEST(Prometheus, InvalidUtf8InLabelValuesIsReplaced) {
  PrometheusWriter w;
  const std::string_view value("/log/\xff\xfe\"d\xC3\xA9j\xC3\\\xE2\x82\n\xED\xA0\x80\xC0\xAF.log");
  w.sample("m", {{"path", value}}, uint64_t{1});
  EXPECT_EQ(w.text(),
            "m{path=\"/log/\xEF\xBF\xBD\xEF\xBF\xBD\\\"d\xC3\xA9j\xEF\xBF\xBD\\\\"
            "\xEF\xBF\xBD\xEF\xBF\xBD\\n"
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD.log\"} 1\n");
}

TEST(Prometheus, ValidUtf8LabelValuesAreKept) {
  PrometheusWriter w;
  w.sample("m", {{"path", "/日本/délta-\xF0\x9F\x98\x80"}}, uint64_t{1});
  EXPECT_EQ(w.text(), "m{path=\"/日本/délta-\xF0\x9F\x98\x80\"} 1\n");
}

TEST(Prometheus, HelpEscapesBackslashAndNewlineButNotQuotes) {
  PrometheusWriter w;
  w.family("m", "gauge", "a \"quoted\" \\ line\nbreak");
  EXPECT_EQ(w.text(), "# HELP m a \"quoted\" \\\\ line\\nbreak\n# TYPE m gauge\n");
}

TEST(Prometheus, MultipleLabelsInOrderAndDuplicatesDropped) {
  PrometheusWriter w;
  w.sample("m", {{"a", "1"}, {"b", "2"}, {"a", "3"}}, uint64_t{0});
  EXPECT_EQ(w.text(), "m{a=\"1\",b=\"2\"} 0\n");
}

TEST(Prometheus, MetricNamesSanitised) {
  EXPECT_EQ(PrometheusWriter::sanitize_metric_name("sluice_ok:sub_1"), "sluice_ok:sub_1");
  EXPECT_EQ(PrometheusWriter::sanitize_metric_name("my-metric.total"), "my_metric_total");
  EXPECT_EQ(PrometheusWriter::sanitize_metric_name("9lives"), "_9lives");
  EXPECT_EQ(PrometheusWriter::sanitize_metric_name(""), "_");
  EXPECT_EQ(PrometheusWriter::sanitize_metric_name("é"), "__");
  PrometheusWriter w;
  w.family("bad name", "counter", "h");
  w.sample("bad name", {}, uint64_t{1});
  EXPECT_EQ(w.text(), "# HELP bad_name h\n# TYPE bad_name counter\nbad_name 1\n");
}

TEST(Prometheus, LabelNamesSanitised) {
  EXPECT_EQ(PrometheusWriter::sanitize_label_name("component"), "component");
  EXPECT_EQ(PrometheusWriter::sanitize_label_name("k8s.pod"), "k8s_pod");
  EXPECT_EQ(PrometheusWriter::sanitize_label_name("a:b"), "a_b");  // no colons in label names
  EXPECT_EQ(PrometheusWriter::sanitize_label_name("1x"), "_1x");
  EXPECT_EQ(PrometheusWriter::sanitize_label_name("__name__"), "_name__");  // "__" is reserved
  EXPECT_EQ(PrometheusWriter::sanitize_label_name(""), "_");
}

TEST(Prometheus, IntegersPrintedExactly) {
  PrometheusWriter w;
  w.sample("a", {}, uint64_t{1'000'000});
  w.sample("b", {}, std::numeric_limits<uint64_t>::max());
  w.sample("c", {}, 1e6);
  w.sample("d", {}, 1e15);
  w.sample("e", {}, int64_t{-3});
  w.sample("f", {}, 12);           // int
  w.sample("g", {}, size_t{100});  // size_t
  EXPECT_EQ(w.text(),
            "a 1000000\nb 18446744073709551615\nc 1000000\nd 1000000000000000\ne -3\nf 12\n"
            "g 100\n");
}

TEST(Prometheus, SpecialAndFractionalValues) {
  EXPECT_EQ(PrometheusWriter::format_value(std::nan("")), "NaN");
  EXPECT_EQ(PrometheusWriter::format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(PrometheusWriter::format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(PrometheusWriter::format_value(0.25), "0.25");
  EXPECT_EQ(PrometheusWriter::format_value(0.1), "0.1");
  EXPECT_EQ(PrometheusWriter::format_value(-0.0), "0");
  // Too large for an exact integer: any form Prometheus parses (Go's ParseFloat) will do, but it
  // must read back as the same double.
  EXPECT_EQ(std::stod(PrometheusWriter::format_value(1e300)), 1e300);
}

TEST(Prometheus, TextIsRebuiltAfterMoreSamples) {
  PrometheusWriter w;
  w.sample("a", {}, uint64_t{1});
  EXPECT_EQ(w.text(), "a 1\n");
  w.sample("a", {}, uint64_t{2});
  EXPECT_EQ(w.text(), "a 1\na 2\n");
}

TEST(Prometheus, EmptyWriterIsEmpty) {
  PrometheusWriter w;
  EXPECT_EQ(w.text(), "");
}

}  // namespace
}  // namespace sluice
