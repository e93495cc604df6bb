// What a field value can do to a rendered template in each mode: a path component holding event
// data is always a plain name below the template's fixed prefix, a Kafka topic is always a legal
// topic name, and no value can pass for the missing-field marker.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <regex>

#include "base/json_writer.hpp"
#include "core/safe_names.hpp"
#include "core/template.hpp"
#include "support/map_lookup.hpp"

namespace sluice {
namespace {

using testing::MapLookup;

using Mode = Template::RenderMode;

constexpr int64_t kTs = 1709211845'000'000'000;  // 2024-02-29T13:04:05Z

Template parse(const std::string& text) {
  std::string error;
  auto t = Template::parse(text, &error);
  EXPECT_TRUE(t) << error;
  return std::move(*t);
}

std::string render(const std::string& text, std::map<std::string, std::string> fields,
                   Mode mode = Mode::Path, std::string_view missing = "unknown") {
  ByteBuffer out;
  parse(text).render(MapLookup(std::move(fields)), kTs, {mode, missing}, out);
  return std::string(out.view());
}

std::string path(const std::string& text, std::map<std::string, std::string> fields) {
  return render(text, std::move(fields), Mode::Path);
}

std::string topic(const std::string& text, std::map<std::string, std::string> fields,
                  std::string_view missing = "unknown") {
  return render(text, std::move(fields), Mode::KafkaTopic, missing);
}

std::string hash_hex(std::string_view name) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", names::name_hash(name));
  return buf;
}

// --- paths ---------------------------------------------------------------------------------------

TEST(PathRendering, DotsMadeOfSeveralValuesOrTextAreNotDirectories) {
  EXPECT_EQ(path("/out/{{ a }}{{ b }}", {{"a", "."}, {"b", "."}}), "/out/_");
  EXPECT_EQ(path("/out/.{{ a }}", {{"a", "."}}), "/out/_");
  EXPECT_EQ(path("/out/{{a}}.", {{"a", "."}}), "/out/_");
  EXPECT_EQ(path("/out/{{ a }}", {{"a", "."}}), "/out/_");
  EXPECT_EQ(path("/out/{{a}}/{{b}}", {{"a", ".."}, {"b", ".."}}), "/out/_/_");
  EXPECT_EQ(path("/out/{{a}}/{{b}}/x.log", {{"a", ".."}, {"b", "."}}), "/out/_/_/x.log");
  EXPECT_EQ(path("{{ a }}{{ b }}", {{"a", "."}, {"b", "."}}), "_");  // relative template
  // Names that merely contain dots are names.
  EXPECT_EQ(path("/out/{{a}}", {{"a", "..."}}), "/out/...");
  EXPECT_EQ(path("/out/{{a}}", {{"a", "a..b"}}), "/out/a..b");
  EXPECT_EQ(path("/out/{{a}}.log", {{"a", "."}}), "/out/..log");
}

TEST(PathRendering, SeparatorsControlsAndNulBecomeUnderscores) {
  EXPECT_EQ(path("/out/{{a}}", {{"a", "/../"}}), "/out/_.._");
  EXPECT_EQ(path("/out/{{a}}.log", {{"a", "../../etc/passwd"}}), "/out/.._.._etc_passwd.log");
  EXPECT_EQ(path("/out/{{a}}", {{"a", "/etc/passwd"}}), "/out/_etc_passwd");
  EXPECT_EQ(path("/out/{{a}}", {{"a", "a\\b"}}), "/out/a_b");
  EXPECT_EQ(path("/out/{{a}}", {{"a", std::string("a\0b", 3)}}), "/out/a_b");
  EXPECT_EQ(path("/out/{{a}}", {{"a", "t\tn\nr\rd\x7f"}}), "/out/t_n_r_d_");
  EXPECT_EQ(path("/out/{{a}}", {{"a", "c1\xc2\x85"}}), "/out/c1_");  // U+0085 NEL
  EXPECT_EQ(path("/out/{{a}}", {{"a", ""}}), "/out/_");
  EXPECT_EQ(path("/out/x-{{a}}", {{"a", ""}}), "/out/x-_");
  EXPECT_EQ(path("/out/{{a}}", {}), "/out/unknown");
}

TEST(PathRendering, PercentAndUnicodeAreKeptInvalidUtf8Replaced) {
  EXPECT_EQ(path("/out/{{a}}", {{"a", "100%s %Y %n"}}), "/out/100%s %Y %n");
  EXPECT_EQ(path("/out/{{a}}", {{"a", "日本語-é-😀"}}), "/out/日本語-é-😀");
  EXPECT_EQ(path("/out/{{a}}", {{"a",
                                 "a\xff"
                                 "b"}}),
            "/out/a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(path("/out/{{a}}", {{"a", "\xe6\x97"}}), "/out/\xEF\xBF\xBD\xEF\xBF\xBD");  // cut
  EXPECT_EQ(path("/out/{{a}}", {{"a", "\xc0\xaf"}}),  // overlong `/`
            "/out/\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(path("/out/{{a}}", {{"a", "\xed\xa0\x80"}}),  // surrogate
            "/out/\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(PathRendering, LongComponentsAreShortenedWithAHash) {
  std::string value(300, 'a');
  std::string got = path("/out/{{a}}", {{"a", value}});
  EXPECT_EQ(got, "/out/" + std::string(240, 'a') + "~" + hash_hex(value));
  // A fixed tail (the extension) is kept, and the hash covers the whole component.
  got = path("/out/{{a}}.jsonl", {{"a", value}});
  EXPECT_EQ(got, "/out/" + std::string(234, 'a') + "~" + hash_hex(value + ".jsonl") + ".jsonl");
  // Different long values stay apart, the same value always gives the same name.
  EXPECT_NE(path("/out/{{a}}", {{"a", value + "b"}}), path("/out/{{a}}", {{"a", value + "c"}}));
  EXPECT_EQ(path("/out/{{a}}", {{"a", value}}), path("/out/{{a}}", {{"a", value}}));
  // 255 bytes is still a name; the other components are left alone.
  EXPECT_EQ(path("/out/{{a}}/x", {{"a", std::string(255, 'b')}}),
            "/out/" + std::string(255, 'b') + "/x");
  // Two values that together pass the limit.
  got = path("/out/{{a}}-{{b}}", {{"a", std::string(200, 'x')}, {"b", std::string(200, 'y')}});
  EXPECT_EQ(got.size(), 5 + 240 + 1 + 8u);
}

TEST(PathRendering, ShorteningNeverCutsAUtf8Character) {
  for (const std::string ch : {"é", "語", "😀"}) {
    for (size_t pad = 230; pad < 241; ++pad) {
      std::string value = std::string(pad, 'a');
      while (value.size() < 300) value += ch;
      std::string got = path("/out/{{a}}", {{"a", value}});
      std::string component = got.substr(5);
      EXPECT_LE(component.size(), 249u);
      EXPECT_TRUE(is_valid_utf8(component)) << "pad " << pad << " char " << ch;
      size_t tilde = component.rfind('~');
      ASSERT_NE(tilde, std::string::npos);
      EXPECT_LE(tilde, 240u);
      EXPECT_GT(tilde, 236u);  // only the partial character is left out
      EXPECT_EQ(component.substr(0, tilde), value.substr(0, tilde));
    }
  }
}

TEST(PathRendering, FixedPrefixIsTheDirectoryBeforeTheFirstPlaceholder) {
  EXPECT_EQ(parse("/var/log/{{ a }}/x.log").fixed_prefix(), "/var/log/");
  EXPECT_EQ(parse("/var/log/app-{{ a }}.log").fixed_prefix(), "/var/log/");
  EXPECT_EQ(parse("/var/log/%Y/{{ a }}").fixed_prefix(), "/var/log/");
  EXPECT_EQ(parse("/{{ a }}").fixed_prefix(), "/");
  EXPECT_EQ(parse("{{ a }}/x").fixed_prefix(), "");
  EXPECT_EQ(parse("out/{{ a }}").fixed_prefix(), "out/");
  EXPECT_EQ(parse("/x/100%%/{{ a }}").fixed_prefix(), "/x/100%/");
  EXPECT_EQ(parse("/var/log/out.jsonl").fixed_prefix(), "/var/log/out.jsonl");
}

// The property the review checks with ever new variants: whatever the values, every component
// made from them is a plain name and the whole path stays below the fixed prefix.
TEST(PathRendering, AnyValuesStayBelowTheFixedPrefix) {
  const std::vector<std::string> pieces = {
      ".", "..", "/",   "\\", std::string(1, '\0'),  "\n", "a", "é", "\xff", "\xe2\x82",
      "%", "~",  "%2e", " ",  std::string(130, 'z'), "語"};
  const std::vector<std::string> templates = {"{{a}}{{b}}",
                                              ".{{a}}",
                                              "{{a}}/{{b}}",
                                              "/out/{{a}}{{b}}",
                                              "/out/.{{a}}",
                                              "/out/{{a}}.",
                                              "/out/x-{{a}}/{{b}}.log",
                                              "/out/{{a}}/%Y/{{b}}",
                                              "rel/{{a}}/{{b}}{{a}}"};
  std::mt19937 rng(12);
  auto value = [&] {
    std::string v;
    size_t n = rng() % 5;
    for (size_t k = 0; k < n; ++k) v += pieces[rng() % pieces.size()];
    return v;
  };
  for (int round = 0; round < 3000; ++round) {
    const std::string& text = templates[static_cast<size_t>(round) % templates.size()];
    Template t = parse(text);
    std::string a = value();
    std::string b = value();
    std::string got = path(text, {{"a", a}, {"b", b}});
    SCOPED_TRACE(text + " a=" + a + " b=" + b + " -> " + got);
    EXPECT_TRUE(names::path_stays_under(got, t.fixed_prefix()));
    EXPECT_TRUE(is_valid_utf8(got));
    std::string_view rest = std::string_view(got).substr(t.fixed_prefix().size());
    size_t begin = 0;
    while (begin <= rest.size()) {
      size_t end = std::min(rest.find('/', begin), rest.size());
      std::string_view component = rest.substr(begin, end - begin);
      EXPECT_FALSE(component.empty() || component == "." || component == "..");
      EXPECT_LE(component.size(), 255u);
      for (char c : component) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
      begin = end + 1;
    }
  }
}

TEST(PathRendering, StaysUnderChecksTheWholePath) {
  using names::path_stays_under;
  EXPECT_TRUE(path_stays_under("/out/a/b", "/out/"));
  EXPECT_TRUE(path_stays_under("/out/a/../b", "/out/"));
  EXPECT_FALSE(path_stays_under("/out/a/../../b", "/out/"));
  EXPECT_FALSE(path_stays_under("/out/..", "/out/"));
  EXPECT_FALSE(path_stays_under("/out/", "/out/"));  // the directory itself
  EXPECT_FALSE(path_stays_under("/out/./.", "/out/"));
  EXPECT_FALSE(path_stays_under("/other/a", "/out/"));
  EXPECT_FALSE(path_stays_under(std::string("/out/a\0b", 8), "/out/"));
  EXPECT_TRUE(path_stays_under("a/b", ""));
  EXPECT_FALSE(path_stays_under("/a", ""));  // a relative template cannot become absolute
  EXPECT_FALSE(path_stays_under("../a", ""));
}

// --- Kafka topics --------------------------------------------------------------------------------

TEST(TopicRendering, EveryByteOutsideKafkasAlphabetBecomesAnUnderscore) {
  EXPECT_EQ(topic("logs-{{a}}", {{"a", std::string("x\0y", 3)}}), "logs-x_y");
  EXPECT_EQ(topic("logs-{{a}}", {{"a", "a b/c"}}), "logs-a_b_c");
  EXPECT_EQ(topic("logs-{{a}}", {{"a", "é"}}), "logs-__");
  EXPECT_EQ(topic("logs-{{a}}", {{"a", "Az09._-"}}), "logs-Az09._-");
  EXPECT_EQ(topic("logs-{{a}}", {{"a", "%s\x01"}}), "logs-_s_");
  EXPECT_EQ(topic("t-%T", {}), "t-13_04_05");  // the time's `:` too
  EXPECT_EQ(topic("logs-{{a}}", {}), "logs-unknown");
}

TEST(TopicRendering, DotNamesAndEmptyNamesAreIllegal) {
  EXPECT_EQ(topic("{{a}}", {{"a", "."}}), "_");
  EXPECT_EQ(topic("{{a}}", {{"a", ".."}}), "_");
  EXPECT_EQ(topic("{{a}}{{b}}", {{"a", "."}, {"b", "."}}), "_");
  EXPECT_EQ(topic("{{a}}", {{"a", ""}}), "_");
  EXPECT_EQ(topic("{{a}}", {{"a", "..."}}), "...");
}

TEST(TopicRendering, LongNamesAreShortenedTo249Bytes) {
  std::string value(300, 'k');
  std::string got = topic("{{a}}", {{"a", value}});
  EXPECT_EQ(got, std::string(240, 'k') + "-" + hash_hex(value));
  EXPECT_EQ(got.size(), 249u);
  EXPECT_EQ(topic("{{a}}", {{"a", std::string(249, 'k')}}), std::string(249, 'k'));
  got = topic("{{a}}", {{"a", std::string(250, 'k')}});
  EXPECT_EQ(got.size(), 249u);
  EXPECT_NE(got, std::string(249, 'k'));
  // Multi-byte characters are `_` per byte before the length is counted.
  got = topic("{{a}}", {{"a", std::string(100, 'k') + std::string(60, '\0') + "語語語語語語"}});
  EXPECT_EQ(got.size(), 178u);
}

TEST(TopicRendering, TheMissingFieldMarkerSurvivesAndCannotComeFromAValue) {
  const std::string_view marker = "\x01";
  std::string got = topic("logs-{{a}}-{{b}}", {{"a", std::string(300, 'x')}}, marker);
  EXPECT_NE(got.find(marker), std::string::npos);
  got = topic("logs-{{a}}", {{"a", "\x01"}}, marker);
  EXPECT_EQ(got, "logs-_");
}

// --- Elasticsearch index names (cleaned by the sink, see es_bulk_request_test) -------------------

TEST(IndexRendering, ControlCharactersInValuesCannotPassForTheMarker) {
  EXPECT_EQ(render("logs-{{a}}", {{"a", "x\x01y\x7f"}}, Mode::IndexName, "\x01"), "logs-x_y_");
  EXPECT_EQ(render("logs-{{a}}", {}, Mode::IndexName, "\x01"), "logs-\x01");
  EXPECT_EQ(render("logs-{{a}}", {{"a", "A/B"}}, Mode::IndexName), "logs-A/B");
}

TEST(RawRendering, ValuesAreKeptAsTheyAre) {
  EXPECT_EQ(render("{{a}}", {{"a", std::string("x/..\0", 5)}}, Mode::Raw),
            std::string("x/..\0", 5));
}

}  // namespace
}  // namespace sluice
