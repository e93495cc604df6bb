// The worker hot path (parse, timestamp, filter, remap, throttle, encode) allocates nothing per
// event once a batch's buffers have warmed up. A separate binary, because it replaces the global
// operator new to count allocations.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "core/encoder.hpp"
#include "core/event_view.hpp"
#include "core/origin_maps.hpp"
#include "core/tap.hpp"
#include "core/template.hpp"
#include "parse/event_parser.hpp"
#include "parse/framer.hpp"
#include "sources/file/file_tailer.hpp"
#include "sources/file/progress.hpp"
#include "transforms/condition.hpp"
#include "transforms/filter.hpp"
#include "transforms/remap.hpp"
#include "transforms/throttle.hpp"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// Not inlined: GCC would otherwise see malloc() through `new` and free() through `delete` in
// the same caller and warn of a mismatch (-Wmismatched-new-delete) that is not there.
[[gnu::noinline]] void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace sluice {
namespace {

std::string corpus() {
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    switch (i % 4) {
      case 0:
        text += R"({"time":"2024-05-01T12:00:00.)" + std::to_string(100 + i % 900) +
                R"(+02:00","level":"warn","msg":"slow \"request\"","n":)" + std::to_string(i) +
                R"(,"nested":{"pod":{"name":"web-)" + std::to_string(i % 7) + R"("}},"ok":true})";
        break;
      case 1:
        text += "ts=1714564802123 level=info msg=\"cache miss\" key=k" + std::to_string(i);
        break;
      case 2:
        text += "plain text line number " + std::to_string(i) + " with caf\xC3\xA9 and \xFF bad";
        break;
      default:
        if (i % 8 == 3) {
          // Repeated keys (top level, nested, many) and numbers beyond double range.
          text += R"({"level":"info","n":1e999999,"o":{"k":1,"k":[{"a":1,"a":2}]},"level":"warn")";
          for (int k = 0; k < 40; ++k) text += ",\"k" + std::to_string(k % 30) + "\":-1e400";
          text += "}";
        } else {
          text += R"({"broken": )" + std::to_string(i);
        }
    }
    text += '\n';
  }
  return text;
}

// The corpus framed and parsed (JSON) into `batch`, as a source and a worker leave it.
bool parse_corpus(Batch& batch) {
  std::string error;
  auto parser = EventParser::create(ParserOptions{}, &error);
  if (!parser) return false;
  frame_text(batch, corpus());
  batch.stream = "stdout";
  batch.read_time_ns = 1'700'000'000'000'000'000;
  parser->parse(batch, batch.read_time_ns);
  return true;
}

// Runs one batch through what a worker does with it, for one source with two branches.
void run_hot_path(Batch& batch, const std::string& text, const EventParser& parser,
                  const Transform& filter, const Transform& remap, std::vector<Event>& filtered,
                  std::vector<Event>& remapped, ByteBuffer& json, ByteBuffer& text_out) {
  batch.reset();
  batch.stream = "stdout";
  batch.read_time_ns = 1'700'000'000'000'000'000;
  frame_text(batch, text);
  parser.parse(batch, batch.read_time_ns);
  SourceMeta meta{"app", "host-1", true};
  filtered.clear();
  remapped.clear();
  filter.apply(batch, meta, batch.events, filtered);
  remap.apply(batch, meta, filtered, remapped);
  json.clear();
  text_out.clear();
  for (const Event& e : batch.events) encode_event(batch, e, meta, EncodingSpec{}, json);
  for (const Event& e : remapped) {
    encode_event(batch, e, meta, EncodingSpec{EncodingSpec::Kind::Text, true}, text_out);
  }
}

TEST(HotPath, NoAllocationPerEventAfterWarmUp) {
  const std::string text = corpus();
  std::string error;
  auto parser = EventParser::create(ParserOptions{}, &error);
  ASSERT_TRUE(parser) << error;
  FilterTransform filter(
      Condition::compile("level >= warn or nested.pod.name == 'web-3' or msg =~ 'miss'", &error));
  RemapOptions remap_options;
  remap_options.rename.emplace_back("msg", "message");
  remap_options.remove = {"n"};
  remap_options.add.emplace_back("env", Value{ValueKind::String, true, "prod"});
  RemapTransform remap(std::move(remap_options));

  Batch batch;
  std::vector<Event> filtered, remapped;
  ByteBuffer json, text_out;
  // Warm-up: buffers, arena chunks, thread-local parsers grow to their working size. The cold
  // pass must allocate, or the counter is not counting.
  long cold = g_allocations.load();
  run_hot_path(batch, text, *parser, filter, remap, filtered, remapped, json, text_out);
  EXPECT_GT(g_allocations.load() - cold, 0);
  for (int i = 0; i < 2; ++i) {
    run_hot_path(batch, text, *parser, filter, remap, filtered, remapped, json, text_out);
  }
  ASSERT_GT(remapped.size(), 500u);

  long before = g_allocations.load();
  for (int i = 0; i < 5; ++i) {
    run_hot_path(batch, text, *parser, filter, remap, filtered, remapped, json, text_out);
  }
  long allocations = g_allocations.load() - before;
  EXPECT_EQ(allocations, 0) << "allocations over 5 batches of " << batch.events.size() << " events";
}

// Sink templates are rendered by the workers for every event: path components made plain names
// (and shortened with a hash), Kafka topics and Elasticsearch index names, all in place.
TEST(HotPath, TemplatesRenderWithoutAllocatingPerEvent) {
  std::string text;
  const std::string long_value(300, 'x');
  const std::vector<std::string> values = {
      ".", "..", "", "/../", "a/b", "caf\xC3\xA9", "bad \xFF\xFE", long_value, "\\u0000nul"};
  for (int i = 0; i < 2000; ++i) {
    const std::string& v = values[static_cast<size_t>(i) % values.size()];
    text += R"({"a":")" + v + R"(","b":")" + values[static_cast<size_t>(i / 3) % values.size()] +
            R"(","n":)" + std::to_string(i) + "}\n";
  }
  std::string error;
  auto parser = EventParser::create(ParserOptions{}, &error);
  ASSERT_TRUE(parser) << error;
  using Mode = Template::RenderMode;
  struct Case {
    std::optional<Template> t;
    Mode mode;
  };
  std::vector<Case> cases;
  for (auto [text_of, mode] : {std::pair{"/out/{{ a }}{{ b }}/.{{ a }}-%Y.jsonl", Mode::Path},
                               std::pair{"logs-{{ a }}-{{ b }}", Mode::KafkaTopic},
                               std::pair{"logs-{{ a }}", Mode::IndexName}}) {
    cases.push_back({Template::parse(text_of, &error), mode});
    ASSERT_TRUE(cases.back().t) << error;
  }
  Batch batch;
  ByteBuffer out;
  SourceMeta meta{"app", "host-1", true};
  auto render_all = [&] {
    batch.reset();
    batch.read_time_ns = 1'700'000'000'000'000'000;
    frame_text(batch, text);
    parser->parse(batch, batch.read_time_ns);
    out.clear();
    for (const Event& e : batch.events) {
      EventView view(batch, e, meta);
      for (const Case& c : cases) c.t->render(view, e.timestamp_ns, {c.mode, "unknown"}, out);
    }
  };
  long cold = g_allocations.load();
  render_all();
  EXPECT_GT(g_allocations.load() - cold, 0);  // the counter counts
  for (int i = 0; i < 2; ++i) render_all();
  ASSERT_EQ(batch.events.size(), 2000u);
  ASSERT_NE(out.view().find('~'), std::string_view::npos);  // long components were shortened
  long before = g_allocations.load();
  for (int i = 0; i < 5; ++i) render_all();
  EXPECT_EQ(g_allocations.load() - before, 0);
}

// The named parsers (syslog with RFC 5424 structured data, clf, klog, logcat) parse and encode
// their lines, and flag the lines of other formats, without allocating per event.
TEST(HotPath, NamedParsersDoNotAllocatePerEvent) {
  const std::vector<std::pair<ParserKind, std::vector<std::string>>> cases = {
      {ParserKind::Syslog,
       {"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
        "<165>1 2003-10-11T22:14:15.003Z host evntslog - ID47 [exampleSDID@32473 iut=\"3\" "
        "eventSource=\"App\\\"lication\"][p@1 class=\"high\"] msg",
        "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure", "not syslog"}},
      {ParserKind::Clf,
       {"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /a.gif HTTP/1.0\" 200 2326 "
        "\"http://ref/\" \"Mozilla/4.08\"",
        "not an access line"}},
      {ParserKind::Klog, {"I0930 02:45:00.550361   15299 handlers.go:131] POST /api", "x"}},
      {ParserKind::Logcat, {"03-17 16:13:38.811  1702  2395 D Tag: msg", "y"}},
  };
  for (const auto& [kind, lines] : cases) {
    std::string text;
    for (int i = 0; i < 500; ++i) text += lines[static_cast<size_t>(i) % lines.size()] + "\n";
    ParserOptions options;
    options.kind = kind;
    std::string error;
    auto parser = EventParser::create(std::move(options), &error);
    ASSERT_TRUE(parser) << error;
    Batch batch;
    ByteBuffer json;
    SourceMeta meta{"app", "host-1", false};
    auto run = [&] {
      batch.reset();
      batch.read_time_ns = 1'700'000'000'000'000'000;
      frame_text(batch, text);
      parser->parse(batch, batch.read_time_ns);
      json.clear();
      for (const Event& e : batch.events) encode_event(batch, e, meta, EncodingSpec{}, json);
    };
    long cold = g_allocations.load();
    run();
    EXPECT_GT(g_allocations.load() - cold, 0);  // the counter counts
    for (int i = 0; i < 2; ++i) run();
    size_t flagged = 0;
    for (const Event& e : batch.events) flagged += (e.flags & kFlagParseError) != 0;
    ASSERT_EQ(flagged, 500 / lines.size()) << static_cast<int>(kind);
    long before = g_allocations.load();
    for (int i = 0; i < 5; ++i) run();
    EXPECT_EQ(g_allocations.load() - before, 0) << static_cast<int>(kind);
  }
}

// parser: auto on plain text: every detected layout (and the named ones it hands on, and lines
// it leaves alone) parses and encodes, with fields merged into the log/host/process objects of
// a file source's metadata, without allocating per event.
TEST(HotPath, PlainTextDetectionDoesNotAllocatePerEvent) {
  const std::vector<std::string> lines = {
      "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: x",
      "2024-01-02T03:04:05.123+01:00  INFO 12345 --- [main] o.s.Foo : Tomcat started",
      "17/06/09 20:10:40 WARN executor.Backend: slow",
      "2024-01-02 03:04:05,678 - myapp.db - WARNING - slow query",
      "[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] gone",
      "I, [2024-01-02T03:04:05.123456 #1234]  INFO -- app: started",
      "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack",
      "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure",
      "03-17 16:13:38.811  1702  2395 D Tag: msg",
      "just words, left alone"};
  std::string text;
  for (int i = 0; i < 500; ++i) text += lines[static_cast<size_t>(i) % lines.size()] + "\n";
  std::string error;
  auto parser = EventParser::create(ParserOptions{}, &error);
  ASSERT_TRUE(parser) << error;
  auto origin = std::make_shared<Origin>();
  origin->file_path = "/var/log/app.log";
  Batch batch;
  ByteBuffer json, human, recorded;
  EncodeMemo memo;  // as a worker encodes: reset per batch (core/encode_memo.hpp)
  SourceMeta meta{"app", "host-1", false};
  auto run = [&] {
    batch.reset();
    batch.origin = origin;
    batch.read_time_ns = 1;
    frame_text(batch, text);
    parser->parse(batch, 1'700'000'000'000'000'000);
    json.clear();
    human.clear();
    recorded.clear();
    memo.reset();
    for (const Event& e : batch.events) {
      encode_event(batch, e, meta, EncodingSpec{}, json);
      encode_event(batch, e, meta, EncodingSpec{EncodingSpec::Kind::Text, false}, human);
      encode_event(batch, e, meta, EncodingSpec{}, recorded, memo);
    }
  };
  run();
  ASSERT_GT(memo.hits(), 400u);  // the ten layouts recorded, the other lines written from them
  ASSERT_EQ(recorded.view(), json.view());
  size_t own_time = 0;
  for (const Event& e : batch.events) own_time += e.timestamp_ns != 1;
  ASSERT_EQ(own_time, 450u);  // all but the left-alone line
  ASSERT_NE(json.view().find(R"("log":{"logger":)"), std::string_view::npos);
  for (int i = 0; i < 2; ++i) run();
  long before = g_allocations.load();
  for (int i = 0; i < 5; ++i) run();
  EXPECT_EQ(g_allocations.load() - before, 0);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// A tapped component (core/tap.hpp): the workers encode a sample into the stream's buffer and
// the server thread takes it by swapping buffers, so once both are warm neither allocates.
TEST(HotPath, TapSamplingDoesNotAllocatePerEvent) {
  Batch batch;
  ASSERT_TRUE(parse_corpus(batch));
  const SourceMeta meta{"app", "host-1", false};

  constexpr int64_t kSecond = 1'000'000'000;
  int64_t now = 1000 * kSecond;
  TapRegistry registry;
  TapRequest request;
  request.rate = kMaxTapRate;
  TapOpened opened = registry.open(request, {{"app", "source"}}, now);
  ASSERT_NE(opened.subscription, nullptr);
  ByteBuffer out;
  // Warm-up, a second apart so that the skipped-events notice (built on the server thread, once
  // a second at most) is written here and not in the counted rounds.
  for (int i = 0; i < 3; ++i) {
    now += kSecond;
    registry.offer("app", batch, batch.events, meta, now);
    out.clear();
    opened.subscription->stream().drain(out, now);
  }
  ASSERT_NE(out.view().find(R"({"component":"app","event":)"), std::string_view::npos);

  long before = g_allocations.load();
  for (int i = 0; i < 5; ++i) {
    now += kSecond / 10;  // within the second after the last notice: none is due
    registry.offer("app", batch, batch.events, meta, now);
    registry.offer("other", batch, batch.events, meta, now);  // tapped by nobody
    out.clear();
    opened.subscription->stream().drain(out, now);
  }
  EXPECT_EQ(g_allocations.load() - before, 0)
      << "allocations over 5 tapped batches of " << batch.events.size() << " events";
  EXPECT_GT(out.size(), 0u);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// The throttle transform renders each event's key into a reused per-thread buffer and finds
// its bucket by a lookup that does not copy the key: once every key has a bucket, deciding
// allocates nothing, whether events pass or are dropped (and counted per key). At the
// `max_keys` bound, an evicted bucket's map node and key string are reused by the new key.
TEST(HotPath, ThrottleDoesNotAllocatePerEvent) {
  Batch batch;
  ASSERT_TRUE(parse_corpus(batch));
  std::string error;
  const SourceMeta meta{"app", "host-1", false};

  constexpr int64_t kSecond = 1'000'000'000;
  int64_t now = 1000 * kSecond;
  auto make = [&](TokenBuckets::Limits limits) {
    ThrottleOptions o;
    o.name = "t";
    // Seven pods (nested.pod.name) and the lines without one, by level; keys longer than a
    // std::string holds without allocating.
    o.key = Template::parse("a-namespace-name/{{ level }}/{{ nested.pod.name }}", &error);
    EXPECT_TRUE(o.key) << error;
    o.limits = limits;
    o.clock = [&now] { return now; };
    return std::make_unique<ThrottleTransform>(std::move(o));
  };
  std::vector<Event> out;
  auto run = [&](const ThrottleTransform& throttle) {
    out.clear();
    now += kSecond / 100;
    throttle.apply(batch, meta, batch.events, out);
  };

  // Over the rate: most events are dropped and counted against their key.
  auto dropping = make({.events_per_second = 100, .burst = 10});
  for (int i = 0; i < 3; ++i) run(*dropping);
  ASSERT_GT(dropping->live_keys(), 7u);
  long before = g_allocations.load();
  for (int i = 0; i < 5; ++i) run(*dropping);
  EXPECT_EQ(g_allocations.load() - before, 0)
      << "allocations over 5 batches of " << batch.events.size() << " events";
  EXPECT_GT(out.size(), 0u);
  EXPECT_LT(out.size(), batch.events.size() / 2);

  // More keys than max_keys: buckets are evicted all the time and their nodes reused.
  auto churning = make({.events_per_second = 1e6, .burst = 1e6, .max_keys = 3});
  for (int i = 0; i < 3; ++i) run(*churning);
  before = g_allocations.load();
  for (int i = 0; i < 5; ++i) run(*churning);
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_EQ(out.size(), batch.events.size());
  EXPECT_EQ(churning->live_keys(), 3u);
  TransformCounters counters;
  churning->read_counters(counters);
  bool evicted = false;
  for (const auto& f : counters.families) {
    if (f.name == "sluice_throttle_evicted_keys_total") evicted = f.samples.at(0).second > 1000;
  }
  EXPECT_TRUE(evicted);

  // Quiet keys: each batch comes after every bucket has refilled, so each was forgotten and its
  // key is new again. The forgotten buckets' nodes are kept for the next new keys.
  auto quiet = make({.events_per_second = 1000, .burst = 1});
  auto run_later = [&](const ThrottleTransform& throttle) {
    out.clear();
    now += kSecond;
    throttle.apply(batch, meta, batch.events, out);
  };
  for (int i = 0; i < 3; ++i) run_later(*quiet);
  before = g_allocations.load();
  for (int i = 0; i < 5; ++i) run_later(*quiet);
  EXPECT_EQ(g_allocations.load() - before, 0)
      << "allocations over 5 batches whose keys were all forgotten in between";
  EXPECT_GT(quiet->live_keys(), 7u);
}

// Events from a pod's log file whose origin carries label maps (add_origin_map): encoded as JSON
// (plain, dedotted, through the memo), as text, and read by a condition and a template with
// quoted segments, without allocating once warm; lines with a parsed `kubernetes` object or
// dotted `kubernetes.*` keys merge with the maps.
TEST(HotPath, OriginMapsAndQuotedPathsDoNotAllocatePerEvent) {
  const std::vector<std::string> lines = {
      R"({"level":"info","msg":"ok","status":200})",
      R"({"level":"warn","msg":"slow","kubernetes":{"node":"n1"},"a.b":{"c.d":1}})",
      "level=error msg=failed kubernetes.host=n2", "plain words"};
  std::string text;
  for (int i = 0; i < 500; ++i) text += lines[static_cast<size_t>(i) % lines.size()] + "\n";
  std::string error;
  auto parser = EventParser::create(ParserOptions{}, &error);
  ASSERT_TRUE(parser) << error;
  auto condition = Condition::compile(
      R"(kubernetes.labels."app.kubernetes.io/name" == web and "a.b"."c.d" != 2)", &error);
  ASSERT_TRUE(condition) << error;
  auto key =
      Template::parse(R"({{ kubernetes.labels."app.kubernetes.io/name" }}/{{ level }})", &error);
  ASSERT_TRUE(key) << error;
  auto origin = std::make_shared<Origin>();
  origin->file_path = "/var/log/containers/web-0_shop_app-0123.log";
  origin->fields = {{"kubernetes.pod.name", "web-0"}, {"kubernetes.namespace", "shop"}};
  add_origin_map(*origin, "kubernetes.labels",
                 {{"app", "shop"}, {"app.kubernetes.io/name", "web"}});
  add_origin_map(*origin, "kubernetes.annotations", {{"example.com/team", "payments"}});
  Batch batch;
  ByteBuffer json, dedotted, human, recorded, keys;
  EncodeMemo memo;
  EncodingSpec dedot;
  dedot.dedot_map_keys = true;
  SourceMeta meta{"app", "host-1", false};
  size_t matched = 0;
  auto run = [&] {
    batch.reset();
    batch.origin = origin;
    batch.read_time_ns = 1;
    frame_text(batch, text);
    parser->parse(batch, 1'700'000'000'000'000'000);
    json.clear();
    dedotted.clear();
    human.clear();
    recorded.clear();
    keys.clear();
    memo.reset();
    matched = 0;
    for (const Event& e : batch.events) {
      encode_event(batch, e, meta, EncodingSpec{}, json);
      encode_event(batch, e, meta, dedot, dedotted);
      encode_event(batch, e, meta, EncodingSpec{EncodingSpec::Kind::Text, false}, human);
      encode_event(batch, e, meta, EncodingSpec{}, recorded, memo);
      EventView view(batch, e, meta);
      matched += condition->matches(view) ? 1 : 0;
      key->render(view, e.timestamp_ns, {Template::RenderMode::Raw, "unknown"}, keys);
    }
  };
  run();
  ASSERT_EQ(recorded.view(), json.view());
  ASSERT_GT(memo.hits(), 200u);
  ASSERT_EQ(matched, 500u);
  ASSERT_NE(dedotted.view().find(R"("app_kubernetes_io/name":"web")"), std::string_view::npos);
  ASSERT_NE(human.view().find("kubernetes.labels.app.kubernetes.io/name=web"),
            std::string_view::npos);
  ASSERT_EQ(keys.view().substr(0, 16), "web/infoweb/warn");
  for (int i = 0; i < 2; ++i) run();
  long before = g_allocations.load();
  for (int i = 0; i < 5; ++i) run();
  EXPECT_EQ(g_allocations.load() - before, 0);
}

// A source context that keeps nothing: what an excluded file hands on would be a bug.
class NoPushContext final : public SourceContext {
 public:
  Batch* acquire() override { return &batch_; }
  void push(Batch* batch) override { pushed += batch->events.size(); }
  void release(Batch*) override {}
  [[nodiscard]] uint64_t acknowledged_checkpoint() const override { return 0; }
  bool wait_for_acks(int64_t) override { return true; }
  [[nodiscard]] int64_t shutdown_deadline_ns() const override { return 0; }
  size_t pushed = 0;

 private:
  Batch batch_;
};

// The lines of a pod excluded by its `sluice.io/exclude` hint are read, counted and dropped:
// nothing allocated per line (nor per read, once the scratch batch has its size), the checkpoint
// moved over them.
TEST(HotPath, ExcludedContainerLinesAreDroppedWithoutAllocating) {
  std::string dir = (std::filesystem::temp_directory_path() / "sluice-alloc-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/pod.log";
  std::string lines;
  for (int i = 0; i < 1000; ++i) {
    lines += "2026-12-07T10:00:00.000000000Z stdout F line " + std::to_string(i) + "\n";
  }
  for (int round = 0; round < 5; ++round) std::ofstream(path, std::ios::app) << lines;
  TailOptions options;
  options.container = true;
  auto progress = std::make_shared<FileProgress>();
  FileTailer tailer(path, options, std::make_shared<Origin>(), progress);
  std::string error;
  ASSERT_TRUE(tailer.open(&error)) << error;
  std::atomic<uint64_t> dropped{0};
  tailer.set_excluded(&dropped);
  NoPushContext ctx;
  CheckpointLog log;
  Batch scratch;
  // Warm-up: the scratch batch grows to a read's size, the log gets its first record.
  tailer.read_some(ctx, log, scratch, 1);
  log.apply(0);
  ASSERT_EQ(dropped.load(), 5000u);

  for (int round = 0; round < 5; ++round) std::ofstream(path, std::ios::app) << lines;
  const long before = g_allocations.load();
  while (tailer.read_some(ctx, log, scratch, 2) != FileTailer::ReadResult::Nothing) {
  }
  const bool moved = log.apply(0);
  const long allocations = g_allocations.load() - before;
  EXPECT_EQ(dropped.load(), 10000u);
  EXPECT_EQ(allocations, 0) << "allocations dropping 5000 lines";
  EXPECT_TRUE(moved);
  EXPECT_EQ(progress->acked_offset, 10 * lines.size());
  EXPECT_EQ(ctx.pushed, 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice
