// LineSplitter: a streamed body (a Kubernetes watch) into lines, whatever the sizes of its reads.
#include "net/line_splitter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::net {
namespace {

using Feed = LineSplitter::Feed;
using Lines = std::vector<std::string>;

// Feeds `body` in reads of the given sizes (the last read takes the rest), then finishes.
struct Split {
  Lines lines;
  std::vector<Feed> feeds;
};

Split split(std::string_view body, size_t cap, const std::vector<size_t>& reads = {}) {
  LineSplitter splitter(cap);
  Split run;
  const auto keep = [&run](std::string_view line) {
    run.lines.emplace_back(line);
    return true;
  };
  size_t pos = 0;
  for (const size_t n : reads) {
    const size_t take = std::min(n, body.size() - pos);
    run.feeds.push_back(splitter.feed(body.data() + pos, take, keep));
    pos += take;
  }
  run.feeds.push_back(splitter.feed(body.data() + pos, body.size() - pos, keep));
  splitter.finish(keep);
  return run;
}

TEST(LineSplitter, LinesEndAtNewlineWithoutTheirCr) {
  const Split run = split("{\"a\":1}\n{\"b\":2}\r\n{\"c\":3}\n", 100);
  EXPECT_EQ(run.lines, Lines({"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"}));
  EXPECT_EQ(run.feeds, std::vector<Feed>({Feed::More}));
}

TEST(LineSplitter, OnlyTheCrBeforeTheNewlineIsDropped) {
  EXPECT_EQ(split("a\rb\n", 100).lines, Lines({"a\rb"}));
  EXPECT_EQ(split("a\r\r\n", 100).lines, Lines({"a\r"}));
  EXPECT_EQ(split("\ra\n", 100).lines, Lines({"\ra"}));
}

TEST(LineSplitter, EmptyLinesAreSkipped) {
  EXPECT_EQ(split("\n\na\n\r\n\nb\n\n", 100).lines, Lines({"a", "b"}));
  EXPECT_TRUE(split("\n\r\n\r", 100).lines.empty());
}

TEST(LineSplitter, LineWholeInOneReadIsHandedOverWithoutACopy) {
  const std::string body = "first\nsecond\n";
  LineSplitter splitter(100);
  std::vector<const char*> starts;
  splitter.feed(body.data(), body.size(), [&](std::string_view line) {
    starts.push_back(line.data());
    return true;
  });
  EXPECT_EQ(starts, std::vector<const char*>({body.data(), body.data() + 6}));
  EXPECT_EQ(splitter.pending_bytes(), 0U);
}

TEST(LineSplitter, SameLinesWhateverTheReadBoundaries) {
  const std::string body = "{\"type\":\"ADDED\"}\r\n\n{\"type\":\"MODIFIED\"}\nlast\r";
  const Lines whole = {"{\"type\":\"ADDED\"}", "{\"type\":\"MODIFIED\"}", "last"};
  ASSERT_EQ(split(body, 100).lines, whole);
  for (size_t first = 0; first <= body.size(); ++first) {
    for (size_t second = 0; first + second <= body.size(); ++second) {
      EXPECT_EQ(split(body, 100, {first, second}).lines, whole) << first << " " << second;
    }
  }
  EXPECT_EQ(split(body, 100, std::vector<size_t>(body.size(), 1)).lines, whole);
}

TEST(LineSplitter, LastLineWithoutNewlineCountsAtTheEnd) {
  LineSplitter splitter(100);
  Lines lines;
  const auto keep = [&lines](std::string_view line) {
    lines.emplace_back(line);
    return true;
  };
  const std::string body = "a\nb\r";
  EXPECT_EQ(splitter.feed(body.data(), body.size(), keep), Feed::More);
  EXPECT_EQ(lines, Lines({"a"}));
  EXPECT_EQ(splitter.pending_bytes(), 2U);
  splitter.finish(keep);
  EXPECT_EQ(lines, Lines({"a", "b"}));
  splitter.finish(keep);  // once only
  EXPECT_EQ(lines, Lines({"a", "b"}));
}

TEST(LineSplitter, LineOverTheCapEndsTheStream) {
  EXPECT_EQ(split("12345\n", 5).lines, Lines({"12345"}));
  const Split run = split("ok\n123456\nafter\n", 5);
  EXPECT_EQ(run.lines, Lines({"ok"}));
  EXPECT_EQ(run.feeds, std::vector<Feed>({Feed::TooLong}));
  // The cap counts the bytes before the newline, the CR among them.
  EXPECT_EQ(split("12345\r\n", 5).feeds, std::vector<Feed>({Feed::TooLong}));
}

TEST(LineSplitter, LineOverTheCapEndsTheStreamBeforeItsNewlineArrives) {
  const std::string body = "ok\n1234567";
  const Split run = split(body + "\nafter\n", 5, {body.size() - 3, 3});
  EXPECT_EQ(run.lines, Lines({"ok"}));
  // Found in the second read, which has no newline; the third read and finish() hand over
  // nothing.
  EXPECT_EQ(run.feeds, std::vector<Feed>({Feed::More, Feed::TooLong, Feed::TooLong}));
  // A last line over the cap without its newline does not come out of finish() either.
  EXPECT_TRUE(split("123456", 5).lines.empty());
}

TEST(LineSplitter, ReaderThatReturnsFalseStopsTheStream) {
  LineSplitter splitter(100);
  Lines lines;
  const auto until_b = [&lines](std::string_view line) {
    lines.emplace_back(line);
    return line != "b";
  };
  const std::string body = "a\nb\nc\nd";
  EXPECT_EQ(splitter.feed(body.data(), body.size(), until_b), Feed::Stopped);
  EXPECT_EQ(splitter.feed("e\n", 2, until_b), Feed::Stopped);
  splitter.finish(until_b);
  EXPECT_EQ(lines, Lines({"a", "b"}));
}

TEST(LineSplitter, MemoryOfALongSplitLineIsGivenBack) {
  LineSplitter splitter(8U << 20);
  size_t longest = 0;
  const auto measure = [&longest](std::string_view line) {
    longest = std::max(longest, line.size());
    return true;
  };
  const std::string piece(256U << 10, 'x');
  for (int i = 0; i < 8; ++i) splitter.feed(piece.data(), piece.size(), measure);
  EXPECT_GE(splitter.pending_capacity(), 2U << 20);
  splitter.feed("\nshort", 6, measure);
  EXPECT_EQ(longest, 2U << 20);
  EXPECT_LE(splitter.pending_capacity(), 1U << 20);
  EXPECT_EQ(splitter.pending_bytes(), 5U);
}

}  // namespace
}  // namespace sluice::net
