#include "cli/top_model.hpp"

#include <gtest/gtest.h>

#include <string>

#include "cli/top_view.hpp"

namespace sluice::cli {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

// A page shaped as src/server/metrics_report.cpp writes it: one file source `logs`, one sink
// `out`; `read` events and bytes so far, and three files.
Scrape page(int64_t taken_ns, double events, double bytes, double out_errors, double ack_a) {
  std::string text = R"(sluice_build_info{version="0.1.0",revision="abc"} 1
process_resident_memory_bytes 25165824
process_start_time_seconds 1700000000.5
)";
  text += "sluice_component_received_events_total{component=\"logs\",kind=\"source\"} " +
          std::to_string(events) + "\n";
  text += "sluice_component_received_events_total{component=\"out\",kind=\"sink\"} " +
          std::to_string(events) + "\n";
  text += "sluice_component_sent_events_total{component=\"logs\",kind=\"source\"} " +
          std::to_string(events) + "\n";
  text += "sluice_component_sent_events_total{component=\"out\",kind=\"sink\"} " +
          std::to_string(events / 2) + "\n";
  text += "sluice_component_received_bytes_total{component=\"logs\",kind=\"source\"} " +
          std::to_string(bytes) + "\n";
  text += "sluice_component_sent_bytes_total{component=\"out\",kind=\"sink\"} " +
          std::to_string(bytes * 2) + "\n";
  text += "sluice_component_errors_total{component=\"out\",kind=\"sink\"} " +
          std::to_string(out_errors) + "\n";
  text += R"(sluice_component_dropped_events_total{component="out",kind="sink"} 4
sluice_component_dropped_events_total{component="gone",kind="sink",reason="reload"} 7
sluice_source_unacknowledged_events{component="logs"} 12
sluice_sink_queue_bytes{component="out"} 1048576
sluice_sink_queue_capacity_bytes{component="out"} 4194304
sluice_sink_failing_seconds{component="out"} 0
sluice_sink_disk_buffer_bytes{component="out"} 50
sluice_sink_disk_buffer_capacity_bytes{component="out"} 200
sluice_source_files{component="logs"} 1000
sluice_source_files_size_bytes{component="logs"} 90000
sluice_source_files_acknowledged_offset_bytes{component="logs"} 60000
sluice_file_size_bytes{component="logs",path="/l/a.log"} 3000
sluice_file_size_bytes{component="logs",path="/l/b.log"} 5000
sluice_file_size_bytes{component="logs",path="/l/c.log"} 5000
sluice_file_read_offset_bytes{component="logs",path="/l/a.log"} 3000
sluice_file_read_offset_bytes{component="logs",path="/l/b.log"} 5000
sluice_file_read_offset_bytes{component="logs",path="/l/c.log"} 4500
sluice_file_acknowledged_offset_bytes{component="logs",path="/l/b.log"} 4000
sluice_file_acknowledged_offset_bytes{component="logs",path="/l/c.log"} 4000
)";
  text += "sluice_file_acknowledged_offset_bytes{component=\"logs\",path=\"/l/a.log\"} " +
          std::to_string(ack_a) + "\n";
  PrometheusPage parsed = parse_prometheus_text(text);
  EXPECT_EQ(parsed.malformed_lines, 0u) << parsed.first_error;
  return Scrape{taken_ns, std::move(parsed.samples)};
}

const ComponentRow& find(const TopModel& model, const std::string& name) {
  for (const ComponentRow& row : model.components) {
    if (row.name == name) return row;
  }
  ADD_FAILURE() << "no row " << name;
  return model.components.front();
}

TEST(TopModel, RatesOverTheIntervalBetweenTwoScrapes) {
  Scrape before = page(10 * kSecond, 1000, 100'000, 1, 0);
  Scrape after = page(12 * kSecond, 3000, 300'000, 3, 0);
  TopModel model = build_top_model(&before, after, 10);
  ASSERT_TRUE(model.interval_s);
  EXPECT_DOUBLE_EQ(*model.interval_s, 2.0);
  EXPECT_EQ(model.version, "0.1.0");
  EXPECT_EQ(model.resident_bytes, 25165824);
  EXPECT_EQ(model.started_unix_s, 1700000000.5);
  // The page's order: logs, out, then the removed sink seen only in the drops.
  ASSERT_EQ(model.components.size(), 3u);
  EXPECT_EQ(model.components[0].name, "logs");
  EXPECT_EQ(model.components[2].name, "gone");
  const ComponentRow& logs = find(model, "logs");
  EXPECT_EQ(logs.kind, "source");
  EXPECT_DOUBLE_EQ(*logs.events_in_per_s, 1000);
  EXPECT_DOUBLE_EQ(*logs.events_out_per_s, 1000);
  EXPECT_DOUBLE_EQ(*logs.bytes_in_per_s, 100'000);
  EXPECT_EQ(logs.unacknowledged_events, 12);
  EXPECT_FALSE(logs.queue_fill);
  const ComponentRow& out = find(model, "out");
  EXPECT_DOUBLE_EQ(*out.events_out_per_s, 500);
  EXPECT_DOUBLE_EQ(*out.bytes_out_per_s, 200'000);
  EXPECT_EQ(out.errors.total, 3);
  EXPECT_EQ(out.errors.recent, 2);
  EXPECT_EQ(out.dropped.total, 4);
  EXPECT_EQ(out.dropped.recent, 0);
  ASSERT_EQ(out.dropped_by_reason.size(), 1u);
  EXPECT_EQ(out.dropped_by_reason[0].first, "buffer_full");
  EXPECT_DOUBLE_EQ(*out.queue_fill, 0.25);
  EXPECT_DOUBLE_EQ(*out.disk_fill, 0.25);
  EXPECT_FALSE(out.unacknowledged_events);
  const ComponentRow& gone = find(model, "gone");
  EXPECT_EQ(gone.kind, "sink");
  ASSERT_EQ(gone.dropped_by_reason.size(), 1u);
  EXPECT_EQ(gone.dropped_by_reason[0].first, "reload");
  EXPECT_EQ(gone.dropped_by_reason[0].second, 7);
}

TEST(TopModel, FilesFurthestBehindFirstTiesByPathAndTotalsOverAllFiles) {
  Scrape before = page(0, 0, 0, 0, 0);
  Scrape after = page(kSecond, 0, 0, 0, 2900);
  TopModel model = build_top_model(&before, after, 10);
  ASSERT_EQ(model.files.size(), 3u);
  // b and c are 1000 bytes behind (tie: by path), a only 100.
  EXPECT_EQ(model.files[0].path, "/l/b.log");
  EXPECT_EQ(model.files[1].path, "/l/c.log");
  EXPECT_EQ(model.files[2].path, "/l/a.log");
  EXPECT_EQ(model.files[0].bytes_behind(), 1000);
  EXPECT_EQ(model.files[2].bytes_behind(), 100);
  EXPECT_EQ(model.files[1].read_offset, 4500);
  EXPECT_EQ(model.files[0].source, "logs");
  // No growth in the read offsets between these two scrapes.
  ASSERT_TRUE(model.files[0].read_bytes_per_s);
  EXPECT_EQ(*model.files[0].read_bytes_per_s, 0);
  EXPECT_EQ(model.files_followed, 1000);
  EXPECT_EQ(model.bytes_behind, 30000);
  EXPECT_EQ(model.file_series, 3u);

  TopModel two = build_top_model(&before, after, 2);
  ASSERT_EQ(two.files.size(), 2u);
  EXPECT_EQ(two.files[1].path, "/l/c.log");
}

// metrics_report.cpp writes the components in the pipeline's order (sinks first); top shows
// them the way events flow, and knows what each kind counts.
TEST(TopModel, SourcesThenTransformsThenSinks) {
  const char* text = R"(sluice_build_info{version="1"} 1
sluice_component_received_events_total{component="z_sink",kind="sink"} 1
sluice_component_received_events_total{component="b_sink",kind="sink"} 1
sluice_component_received_events_total{component="tidy",kind="transform"} 1
sluice_component_received_events_total{component="app",kind="source"} 1
)";
  TopModel model = build_top_model(nullptr, Scrape{0, parse_prometheus_text(text).samples}, 10);
  ASSERT_EQ(model.components.size(), 4u);
  EXPECT_EQ(model.components[0].name, "app");
  EXPECT_EQ(model.components[1].name, "tidy");
  EXPECT_EQ(model.components[2].name, "z_sink");
  EXPECT_EQ(model.components[3].name, "b_sink");
  EXPECT_FALSE(model.components[0].counts_events_in);
  EXPECT_TRUE(model.components[0].counts_bytes_in);
  EXPECT_FALSE(model.components[0].counts_bytes_out);
  EXPECT_TRUE(model.components[1].counts_events_in);
  EXPECT_FALSE(model.components[1].counts_bytes_in);
  EXPECT_TRUE(model.components[3].counts_bytes_out);
}

TEST(TopModel, FirstScrapeHasTotalsButNoRates) {
  Scrape only = page(5 * kSecond, 1000, 100'000, 1, 0);
  TopModel model = build_top_model(nullptr, only, 10);
  EXPECT_FALSE(model.interval_s);
  const ComponentRow& logs = find(model, "logs");
  EXPECT_FALSE(logs.events_in_per_s);
  EXPECT_EQ(logs.events_in.total, 1000);
  EXPECT_FALSE(model.files[0].read_bytes_per_s);
}

// A sluice restarted between the scrapes: its counters start again below the previous values.
TEST(TopModel, ACounterThatWentDownWasReset) {
  Scrape before = page(0, 5000, 500'000, 9, 0);
  Scrape after = page(kSecond, 300, 30'000, 0, 0);
  TopModel model = build_top_model(&before, after, 10);
  EXPECT_DOUBLE_EQ(*find(model, "logs").events_in_per_s, 300);
  EXPECT_EQ(find(model, "out").errors.recent, 0);
}

TEST(TopModel, ComponentPatternsSelectRowsAndFiles) {
  Scrape before = page(0, 0, 0, 0, 0);
  Scrape after = page(kSecond, 10, 10, 0, 0);
  TopModel sinks = build_top_model(&before, after, 10, {"o*", "gone"});
  ASSERT_EQ(sinks.components.size(), 2u);
  EXPECT_EQ(sinks.components[0].name, "out");
  EXPECT_TRUE(sinks.files.empty());
  EXPECT_EQ(sinks.files_followed, 0);
  TopModel logs = build_top_model(&before, after, 10, {"logs"});
  ASSERT_EQ(logs.components.size(), 1u);
  EXPECT_EQ(logs.files.size(), 3u);
}

TEST(TopModel, OnlyASluicePageIsOne) {
  EXPECT_TRUE(is_sluice_page(page(0, 0, 0, 0, 0)));
  Scrape other{0, parse_prometheus_text("node_load1 0.5\n").samples};
  EXPECT_FALSE(is_sluice_page(other));
}

TEST(TopView, TableNamesComponentsRatesAndFiles) {
  Scrape before = page(0, 0, 0, 0, 0);
  Scrape after = page(kSecond, 1500, 2048, 2, 0);
  TopTableOptions options;
  options.address = "127.0.0.1:9598";
  options.now_unix_s = 1700000000.5 + 3 * 3600 + 12 * 60 + 7;
  std::vector<std::string> lines = render_top_table(build_top_model(&before, after, 10), options);
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  EXPECT_NE(text.find("sluice 0.1.0 at 127.0.0.1:9598, rates over 1.0s, up 3h12m, RSS 24.0 MiB"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("COMPONENT"), std::string::npos);
  // logs: 1.50k events/s in and out, 2.00 KiB/s in; its ack lag 12.
  EXPECT_NE(text.find("logs       source                      1.50k    2.00 KiB"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("2 +2"), std::string::npos) << text;  // out's errors, 2 new
  EXPECT_NE(text.find("25%"), std::string::npos) << text;   // out's queue
  EXPECT_NE(text.find("drops: reload 7"), std::string::npos) << text;
  EXPECT_NE(text.find("FILES  1000 followed, 29.3 KiB behind; the 3 furthest behind:"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("/l/b.log"), std::string::npos);
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << "no colour unless asked";
}

TEST(TopView, HeightKeepsALineToSayWhatIsNotShown) {
  Scrape before = page(0, 0, 0, 0, 0);
  Scrape after = page(kSecond, 10, 10, 0, 0);
  TopTableOptions options;
  options.height = 4;  // header, column titles, one row, and the "more" line
  options.width = 40;
  std::vector<std::string> lines = render_top_table(build_top_model(&before, after, 10), options);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[3].rfind("… 2 more components", 0), 0u) << lines[3];
  for (const std::string& line : lines) {
    size_t columns = 0;
    for (unsigned char c : line) columns += (c & 0xC0) != 0x80;
    EXPECT_LE(columns, 40u) << line;
  }
}

TEST(TopView, TerminalSafeEscapesControlsAndCuts) {
  EXPECT_EQ(terminal_safe("a\x1b[2Jb", 100), "a\\x1b[2Jb");
  EXPECT_EQ(terminal_safe("tab\there\x7f", 100), "tab\\x09here\\x7f");
  EXPECT_EQ(terminal_safe("c1 \xc2\x9b"
                          "31m",
                          100),
            "c1 \\x9b31m");
  EXPECT_EQ(terminal_safe("bad \xff byte", 100), "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(terminal_safe("héllo wörld", 5), "héll…");
  EXPECT_EQ(terminal_safe("short", 5), "short");
  // An escape takes four columns of the width, not one.
  EXPECT_EQ(terminal_safe("a\x1b"
                          "bc",
                          4),
            "a…");
  EXPECT_EQ(terminal_safe("a\x1b", 5), "a\\x1b");
  EXPECT_EQ(terminal_safe("anything", 0), "");
}

TEST(TopView, HumanFigures) {
  EXPECT_EQ(human_count(0), "0");
  EXPECT_EQ(human_count(0.5), "0.5");
  EXPECT_EQ(human_count(999), "999");
  EXPECT_EQ(human_count(1234), "1.23k");
  EXPECT_EQ(human_count(45'600'000), "45.6M");
  EXPECT_EQ(human_count(999'999), "1.00M");
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(1536), "1.50 KiB");
  EXPECT_EQ(human_bytes(120.0 * 1024 * 1024), "120 MiB");
  EXPECT_EQ(human_duration(45.9), "45s");
  EXPECT_EQ(human_duration(725), "12m05s");
  EXPECT_EQ(human_duration(3 * 3600 + 12 * 60 + 59), "3h12m");
  EXPECT_EQ(human_duration(2 * 86400 + 4 * 3600 + 1), "2d04h");
}

TEST(TopView, JsonHasTheSameFigures) {
  Scrape before = page(0, 0, 0, 0, 0);
  Scrape after = page(2 * kSecond, 1000, 0, 0, 0);
  std::string json = render_top_json(build_top_model(&before, after, 1), "[::1]:9598");
  EXPECT_EQ(
      json.rfind("{\"address\":\"[::1]:9598\",\"version\":\"0.1.0\",\"interval_seconds\":2,", 0),
      0u)
      << json;
  // A source sends events and reads bytes: no events in, no bytes out.
  EXPECT_NE(json.find("{\"name\":\"logs\",\"kind\":\"source\",\"events_out_per_second\":500,"
                      "\"bytes_in_per_second\":0,\"events_out_total\":1000,"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"dropped_events_by_reason\":{\"reload\":7}"), std::string::npos);
  EXPECT_NE(json.find("\"queue_fill_ratio\":0.25"), std::string::npos);
  EXPECT_NE(json.find("\"furthest_behind\":[{\"source\":\"logs\",\"path\":\"/l/a.log\","
                      "\"bytes_behind\":3000,"),
            std::string::npos)
      << json;
  EXPECT_EQ(json.back(), '}');
}

}  // namespace
}  // namespace sluice::cli
