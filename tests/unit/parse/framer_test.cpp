#include "parse/framer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice {
namespace {

// Feeds `input` into one batch in chunks of `chunk` bytes, as a source would, and returns the
// framed lines (with their flags) after finish().
struct Framed {
  std::vector<std::string> lines;
  std::vector<uint16_t> flags;
};

Framed frame_all(const std::string& input, size_t max_line, size_t chunk = 1 << 20) {
  LineFramer framer(FramerOptions{max_line});
  Batch batch;
  batch.bytes.reserve(input.size() + kReadPadding);
  for (size_t pos = 0; pos < input.size(); pos += chunk) {
    batch.bytes.append(std::string_view(input).substr(pos, chunk));
    framer.frame(batch);
  }
  framer.finish(batch);
  Framed out;
  for (const Event& e : batch.events) {
    out.lines.emplace_back(e.line);
    out.flags.push_back(e.flags);
  }
  return out;
}

TEST(Framer, SplitsOnNewlineAndStripsCarriageReturn) {
  Framed f = frame_all("a\nbb\r\n\nccc\n", 100);
  EXPECT_EQ(f.lines, (std::vector<std::string>{"a", "bb", "", "ccc"}));
}

TEST(Framer, FinalLineWithoutNewlineIsEmittedAtEof) {
  Framed f = frame_all("one\ntwo", 100);
  EXPECT_EQ(f.lines, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(f.flags[1], 0);
}

TEST(Framer, TailCutShortByShutdownIsFlaggedSplit) {
  LineFramer framer(FramerOptions{100});
  Batch batch;
  batch.bytes.reserve(64 + kReadPadding);
  batch.bytes.append("complete\npartial-li");
  framer.finish(batch, true);
  ASSERT_EQ(batch.events.size(), 2u);
  EXPECT_EQ(batch.events[0].flags, 0);
  EXPECT_EQ(batch.events[1].line, "partial-li");
  EXPECT_EQ(batch.events[1].flags, kFlagSplit);
}

TEST(Framer, NoEventForEmptyInput) { EXPECT_TRUE(frame_all("", 100).lines.empty()); }

TEST(Framer, ByteByByteFeedingGivesSameLines) {
  std::string input = "alpha\r\nbeta\ngamma\n\ndelta";
  EXPECT_EQ(frame_all(input, 100, 1).lines, frame_all(input, 100).lines);
}

TEST(Framer, LongLineIsSplitIntoFlaggedPieces) {
  std::string line(25, 'x');
  Framed f = frame_all(line + "\nshort\n", 10);
  ASSERT_EQ(f.lines.size(), 4u);
  EXPECT_EQ(f.lines[0], std::string(10, 'x'));
  EXPECT_EQ(f.lines[1], std::string(10, 'x'));
  EXPECT_EQ(f.lines[2], std::string(5, 'x'));
  EXPECT_EQ(f.flags[0], kFlagSplit);
  EXPECT_EQ(f.flags[2], kFlagSplit);  // the last piece of a split line is flagged too
  EXPECT_EQ(f.lines[3], "short");
  EXPECT_EQ(f.flags[3], 0);
}

TEST(Framer, LineOfExactlyMaxBytesIsNotSplit) {
  Framed f = frame_all(std::string(10, 'y') + "\r\n", 10);
  ASSERT_EQ(f.lines.size(), 1u);
  EXPECT_EQ(f.flags[0], 0);
}

TEST(Framer, SplitsOnUtf8CharacterBoundary) {
  // "é" is two bytes; a cut after 3 bytes would fall inside the second "é".
  Framed f = frame_all("aéé\n", 4);
  ASSERT_EQ(f.lines.size(), 2u);
  EXPECT_EQ(f.lines[0], "aé");
  EXPECT_EQ(f.lines[1], "é");
}

TEST(Framer, LongLineFedInChunksIsSplitTheSame) {
  std::string input = std::string(1000, 'z') + "\nend";
  Framed whole = frame_all(input, 64);
  Framed chunked = frame_all(input, 64, 7);
  EXPECT_EQ(whole.lines, chunked.lines);
  size_t total = 0;
  for (size_t i = 0; i + 1 < whole.lines.size(); ++i) total += whole.lines[i].size();
  EXPECT_EQ(total, 1000u);
}

TEST(Framer, TailCarriedToNextBatch) {
  LineFramer framer(FramerOptions{100});
  Batch first;
  first.bytes.reserve(64 + kReadPadding);
  first.bytes.append("done\npart");
  EXPECT_EQ(framer.frame(first), 5u);
  ASSERT_EQ(first.events.size(), 1u);
  Batch second;
  second.bytes.reserve(64 + kReadPadding);
  second.bytes.append("part");
  framer.carried(4);
  second.bytes.append("ial\n");
  framer.frame(second);
  ASSERT_EQ(second.events.size(), 1u);
  EXPECT_EQ(second.events[0].line, "partial");
}

TEST(Framer, CountingFindsTheLinesFramingWouldEmitAndLeavesTheSameTail) {
  // Lines dropped unread (a pod's `sluice.io/exclude`) are counted as the events they would be:
  // `\r\n` endings, an empty line, a long line's pieces; the unfinished tail is not one yet.
  const std::string input = "a\r\n\n" + std::string(150, 'x') + "\nshort\nunfinished";
  for (size_t chunk : {size_t{1}, size_t{7}, input.size()}) {
    LineFramer framing(FramerOptions{64});
    LineFramer counting(FramerOptions{64});
    Batch framed;
    Batch counted;
    framed.bytes.reserve(input.size() + kReadPadding);
    counted.bytes.reserve(input.size() + kReadPadding);
    uint64_t lines = 0;
    size_t framed_tail = 0;
    size_t counted_tail = 0;
    for (size_t pos = 0; pos < input.size(); pos += chunk) {
      framed.bytes.append(std::string_view(input).substr(pos, chunk));
      counted.bytes.append(std::string_view(input).substr(pos, chunk));
      framed_tail = framing.frame(framed);
      counted_tail = counting.count(counted, &lines);
    }
    EXPECT_EQ(lines, framed.events.size()) << "chunk " << chunk;
    EXPECT_EQ(lines, 6u) << "chunk " << chunk;  // a, "", 3 pieces of x, short
    EXPECT_EQ(counted_tail, framed_tail);
    EXPECT_TRUE(counted.events.empty());  // counted, not made events
  }
}

}  // namespace
}  // namespace sluice
