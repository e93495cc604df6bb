#include "sinks/file/file_sink.hpp"

#include <chrono>
#include <thread>

#include "base/backoff.hpp"
#include "base/clock.hpp"
#include "core/safe_names.hpp"

namespace sluice {

namespace {

// A failed write or flush (disk full, I/O error) is tried again 50 ms later, the wait doubling
// up to 5 s, jittered (base/backoff.hpp).
constexpr int64_t kRetryMinNs = 50'000'000;
constexpr int64_t kRetryMaxNs = 5'000'000'000;

}  // namespace

FileSink::FileSink(FileSinkOptions options)
    : options_(std::move(options)), dead_letters_(options_.data_dir, options_.name) {}
FileSink::~FileSink() = default;

std::vector<const Template*> FileSink::templates() const {
  if (options_.path.is_static()) return {};
  return {&options_.path};
}

FileSink::OpenFile& FileSink::file_for(const std::string& path, int64_t now_ns) {
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (files_.size() >= options_.max_open_files) {
      // Make room: close the least recently used file (its data is already flushed per batch).
      auto oldest = files_.begin();
      for (auto i = files_.begin(); i != files_.end(); ++i) {
        if (i->second.last_used_ns < oldest->second.last_used_ns) oldest = i;
      }
      std::string error;
      oldest->second.writer->flush(now_ns, &error);
      oldest->second.writer->close(&error);
      files_.erase(oldest);
    }
    FileWriterOptions writer = options_.writer;
    writer.path = path;
    writer.regular_only = !options_.path.is_static();
    if (!options_.path.is_static()) writer.no_symlinks_after = options_.path.fixed_prefix().size();
    it = files_.emplace(path, OpenFile{std::make_unique<FileWriter>(writer), now_ns, false}).first;
  }
  it->second.last_used_ns = now_ns;
  return it->second;
}

bool FileSink::write_with_retry(OpenFile& file, std::string_view data, std::string* reason) {
  Backoff backoff(kRetryMinNs, kRetryMaxNs);
  while (true) {
    std::string error;
    if (file.writer->write(data, &error)) {
      file.dirty = true;
      note_success();
      return true;
    }
    const OpenFailure& failure = file.writer->open_failure();
    if (failure.err != 0 && failure_is_events(failure, options_.path.fixed_prefix())) {
      *reason = std::move(error);
      return false;
    }
    note_retry(monotonic_ns());
    const int64_t delay_ns = backoff.next_delay();
    uint64_t suppressed = 0;
    if (error_log_.allow(&suppressed)) {
      log::error("file write failed, retrying", "sink", options_.name, "error", error,
                 "retry_in_ms", delay_ns / 1'000'000, "suppressed_logs", suppressed);
    }
    std::this_thread::sleep_for(std::chrono::nanoseconds(delay_ns));
  }
}

void FileSink::dead_letter(const EncodedBatch& batch, size_t begin, size_t end,
                           std::string_view path, std::string_view reason) {
  for (size_t k = begin; k < end; ++k) {
    dead_letters_.write_until_stored("path", path, reason, batch.event(k),
                                     [&] { note_retry(monotonic_ns()); });
    ++dead_lettered_;
    note_dead_lettered();
  }
  uint64_t suppressed = 0;
  if (dead_letter_log_.allow(&suppressed)) {
    log::error("event cannot be written to its file, written to the dead-letter file", "sink",
               options_.name, "path", path, "error", reason, "dead_letter_path",
               dead_letters_.path(), "dead_lettered", dead_lettered_, "suppressed_logs",
               suppressed);
  }
}

void FileSink::rotate_if_due(OpenFile& file, int64_t now_ns) {
  std::string error;
  if (file.writer->maybe_rotate(now_ns, &error) || error.empty()) return;
  // The writer keeps the current file and tries again on the next call: nothing is lost.
  uint64_t suppressed = 0;
  if (error_log_.allow(&suppressed)) {
    log::error("file rotation failed, will retry", "sink", options_.name, "error", error,
               "suppressed_logs", suppressed);
  }
}

void FileSink::consume(Delivery delivery) {
  const EncodedBatch& batch = delivery.batch();
  int64_t now = wall_clock_ns();
  if (options_.path.is_static()) {
    OpenFile& file = file_for(options_.path.text(), now);
    rotate_if_due(file, now);
    // A fixed path is the configuration's: nothing about it is an event's fault.
    write_with_retry(file, batch.data.view(), &reason_scratch_);
  } else {
    // Consecutive events bound for the same file go out in one write.
    size_t i = 0;
    while (i < batch.count()) {
      std::string_view path = batch.rendered_value(i, 0);
      size_t j = i + 1;
      while (j < batch.count() && batch.rendered_value(j, 0) == path) ++j;
      uint32_t begin = i == 0 ? 0 : batch.ends[i - 1];
      uint32_t end = batch.ends[j - 1];
      path_scratch_.assign(path);
      // The renderer keeps every value-made component a plain name; this checks the result as a
      // whole, so that nothing can ever be written outside the template's directory.
      if (!names::path_stays_under(path_scratch_, options_.path.fixed_prefix())) {
        dead_letter(batch, i, j, path_scratch_, "the rendered path leaves the sink's directory");
        i = j;
        continue;
      }
      OpenFile& file = file_for(path_scratch_, now);
      rotate_if_due(file, now);
      if (!write_with_retry(file, std::string_view(batch.data.data() + begin, end - begin),
                            &reason_scratch_)) {
        files_.erase(path_scratch_);  // nothing was written to it
        dead_letter(batch, i, j, path_scratch_, reason_scratch_);
      }
      i = j;
    }
  }
  if (flush_all(now, false)) {
    while (!waiting_for_fsync_.empty()) {
      waiting_for_fsync_.front().done();
      waiting_for_fsync_.pop_front();
    }
    delivery.done();
  } else {
    waiting_for_fsync_.push_back(delivery);
  }
}

bool FileSink::flush_all(int64_t now_ns, bool force_durable) {
  bool durable = true;
  for (auto& [path, file] : files_) {
    if (!file.dirty) continue;
    std::string error;
    bool ok;
    Backoff backoff(kRetryMinNs, kRetryMaxNs);
    while (true) {
      ok = file.writer->flush(force_durable ? INT64_MAX / 2 : now_ns, &error);
      if (ok || error.empty()) break;
      note_retry(monotonic_ns());
      uint64_t suppressed = 0;
      if (error_log_.allow(&suppressed)) {
        log::error("file flush failed, retrying", "sink", options_.name, "error", error);
      }
      error.clear();
      std::this_thread::sleep_for(std::chrono::nanoseconds(backoff.next_delay()));
    }
    if (ok) {
      file.dirty = false;
    } else {
      durable = false;
    }
  }
  return durable;
}

void FileSink::close_idle(int64_t now_ns) {
  for (auto it = files_.begin(); it != files_.end();) {
    if (!it->second.dirty && now_ns - it->second.last_used_ns > options_.idle_close_ns) {
      std::string error;
      it->second.writer->close(&error);
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
}

void FileSink::tick(int64_t now_ns) {
  for (auto& [path, file] : files_) {
    if (!file.dirty) rotate_if_due(file, now_ns);
  }
  if (!waiting_for_fsync_.empty() && flush_all(now_ns, false)) {
    while (!waiting_for_fsync_.empty()) {
      waiting_for_fsync_.front().done();
      waiting_for_fsync_.pop_front();
    }
  }
  close_idle(now_ns);
}

void FileSink::reopen() {
  std::string error;
  flush_all(wall_clock_ns(), true);
  for (auto& [path, file] : files_) file.writer->reopen();
  while (!waiting_for_fsync_.empty()) {
    waiting_for_fsync_.front().done();
    waiting_for_fsync_.pop_front();
  }
}

void FileSink::shutdown() {
  flush_all(wall_clock_ns(), true);
  while (!waiting_for_fsync_.empty()) {
    waiting_for_fsync_.front().done();
    waiting_for_fsync_.pop_front();
  }
  for (auto& [path, file] : files_) {
    std::string error;
    if (!file.writer->close(&error)) {
      log::error("closing file failed", "sink", options_.name, "error", error);
    }
  }
  files_.clear();
}

}  // namespace sluice
