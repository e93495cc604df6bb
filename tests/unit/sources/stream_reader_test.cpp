#include "sources/stream_reader.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "parse/multiline.hpp"

// The stream reader with multiline joining: a record it keeps waiting for more lines is flushed
// once `flush_after` has passed, and nothing is kept without multiline.

namespace sluice {
namespace {

using Mode = MultilineOptions::Mode;
constexpr int64_t kMs = 1'000'000;

MultilineOptions java_mode() {
  MultilineOptions options;
  options.mode = Mode::Java;
  return options;
}

// Records the pushed events and recycles batches like the pipeline does.
class RecordingContext final : public SourceContext {
 public:
  Batch* acquire() override {
    if (free_.empty()) return new Batch();
    Batch* b = free_.back().release();
    free_.pop_back();
    return b;
  }
  void push(Batch* batch) override {
    for (const Event& e : batch->events) lines.emplace_back(e.line);
    ++pushes;
    release(batch);
  }
  void release(Batch* batch) override {
    std::memset(batch->bytes.data(), '#', batch->bytes.size());
    batch->reset();
    free_.emplace_back(batch);
  }
  [[nodiscard]] uint64_t acknowledged_checkpoint() const override { return 0; }
  bool wait_for_acks(int64_t) override { return true; }
  [[nodiscard]] int64_t shutdown_deadline_ns() const override { return 0; }

  std::vector<std::string> lines;
  int pushes = 0;

 private:
  std::vector<std::unique_ptr<Batch>> free_;
};

class Pipe {
 public:
  Pipe() { EXPECT_EQ(::pipe2(fds_, O_NONBLOCK | O_CLOEXEC), 0); }
  ~Pipe() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  void write(std::string_view s) const {
    EXPECT_EQ(::write(fds_[1], s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }
  [[nodiscard]] int read_fd() const { return fds_[0]; }

 private:
  int fds_[2] = {-1, -1};
};

TEST(MultilineStreamReader, KeptRecordIsFlushedAfterFlushAfter) {
  auto options = std::make_shared<MultilineOptions>(java_mode());
  options->flush_after_ns = 100 * kMs;
  FramerOptions framer;
  framer.multiline = options;
  RecordingContext ctx;
  Pipe pipe;
  StreamReader reader(ctx, "stdin", framer);
  EXPECT_EQ(reader.poll_timeout_ms(), -1);

  // Written in two reads, each handed on as the input goes quiet: one record.
  pipe.write("INFO a\nERROR b\n\tat x\n");
  ASSERT_GT(reader.read_once(pipe.read_fd()), 0);
  reader.note_read(monotonic_ns());
  EXPECT_EQ(reader.poll_timeout_ms(), StreamReader::kQuietFlushMs);
  reader.flush_if_due(true, monotonic_ns());
  EXPECT_EQ(ctx.lines, (std::vector<std::string>{"INFO a"}));
  EXPECT_TRUE(reader.has_unflushed());
  int timeout = reader.poll_timeout_ms();
  EXPECT_GT(timeout, 0);
  EXPECT_LE(timeout, 100);

  pipe.write("\tat y\nWARN c\n\tat z");  // the last line is not complete yet
  ASSERT_GT(reader.read_once(pipe.read_fd()), 0);
  reader.note_read(monotonic_ns());
  reader.flush_if_due(true, monotonic_ns());
  EXPECT_EQ(ctx.lines, (std::vector<std::string>{"INFO a", "ERROR b\n\tat x\n\tat y"}));
  // Not due yet: nothing more is handed on.
  reader.flush_if_due(true, monotonic_ns());
  EXPECT_EQ(ctx.lines.size(), 2u);

  std::this_thread::sleep_for(std::chrono::milliseconds(110));
  EXPECT_EQ(reader.poll_timeout_ms(), 0);
  reader.flush_if_due(true, monotonic_ns());
  EXPECT_EQ(ctx.lines.back(), "WARN c");
  EXPECT_EQ(reader.poll_timeout_ms(), -1);
  EXPECT_FALSE(reader.has_unflushed());

  // The unfinished line was carried along; end of input completes it.
  pipe.write("\n\tat w\n");
  ASSERT_GT(reader.read_once(pipe.read_fd()), 0);
  reader.finish();
  EXPECT_EQ(ctx.lines.back(), "\tat z\n\tat w");
}

TEST(MultilineStreamReader, WithoutMultilineNothingIsKept) {
  RecordingContext ctx;
  Pipe pipe;
  StreamReader reader(ctx, "stdin", FramerOptions{});
  pipe.write("ERROR b\n\tat x\n");
  ASSERT_GT(reader.read_once(pipe.read_fd()), 0);
  reader.note_read(monotonic_ns());
  reader.flush_if_due(true, monotonic_ns());
  EXPECT_EQ(ctx.lines, (std::vector<std::string>{"ERROR b", "\tat x"}));
  EXPECT_EQ(reader.poll_timeout_ms(), -1);
  EXPECT_FALSE(reader.has_unflushed());
}

}  // namespace
}  // namespace sluice
