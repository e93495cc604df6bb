// The file source's descriptors: at most `max_open_files` files are open at once. When more files
// want one — new files waiting for a first open, closed files that changed — files read to their
// end give theirs back at once (not after `close_after`), least recently active first, and the
// waiting files take turns with the changed ones. A closed file keeps its state (offsets, an
// unfinished line) and its inotify watch, and a rescan stats it, so it is reopened when it grows.
#include <algorithm>
#include <cerrno>
#include <climits>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "sources/file/file_source.hpp"

namespace sluice {

namespace {
bool out_of_descriptors(int err) { return err == EMFILE || err == ENFILE; }
}  // namespace

size_t FileSource::free_slots() const {
  return open_files_ < options_.max_open_files ? options_.max_open_files - open_files_ : 0;
}

void FileSource::wait_for_slot(const std::string& path,
                               const std::optional<FirstSeen>& first_seen) {
  auto [it, added] = waiting_.emplace(path, first_seen);
  if (!added) return;
  uint64_t suppressed = 0;
  if (waiting_log_.allow(&suppressed)) {
    log::info("more files than max_open_files: files read to their end make way for waiting ones",
              "source", options_.name, "max_open_files", options_.max_open_files, "waiting",
              waiting_.size());
  }
}

void FileSource::want_reopen(const Key& key, FileTailer& tailer, const std::string& path) {
  if (tailer.wants_slot) return;
  tailer.wants_slot = true;
  reopen_queue_.emplace_back(key, path);
}

size_t FileSource::close_read_files(size_t wanted) {
  // Open, read to the end (nothing notified since), not rotated away (those are read until
  // rotate_wait passes), and not holding a multiline record back (its flush needs no read, but
  // stays simple to reason about with the file open).
  std::vector<FileTailer*> done;
  for (auto& [key, tailer] : tailers_) {
    if (tailer->is_open() && !tailer->released && !tailer->maybe_readable &&
        tailer->next_deadline_ns() == INT64_MAX) {
      done.push_back(tailer.get());
    }
  }
  if (done.size() > wanted) {
    std::nth_element(
        done.begin(), done.begin() + static_cast<std::ptrdiff_t>(wanted), done.end(),
        [](const FileTailer* a, const FileTailer* b) { return a->last_data_ns < b->last_data_ns; });
    done.resize(wanted);
  }
  for (FileTailer* tailer : done) {
    tailer->stat_size = tailer->size();
    tailer->close();  // its watch stays, and rescans stat it: a change queues it for a reopen
  }
  return done.size();
}

void FileSource::share_slots(int64_t now) {
  const size_t wanted = reopen_queue_.size() + waiting_.size();
  if (wanted == 0) return;
  if (free_slots() < wanted) close_read_files(wanted - free_slots());
  bool reopen_turn = true;  // alternate, so neither kind waits behind a long queue of the other
  while (free_slots() > 0 && (!reopen_queue_.empty() || !waiting_.empty())) {
    if ((reopen_turn && !reopen_queue_.empty()) || waiting_.empty()) {
      auto [key, path] = std::move(reopen_queue_.front());
      reopen_queue_.pop_front();
      auto it = tailers_.find(key);
      if (it == tailers_.end() || !it->second->wants_slot) continue;  // gone meanwhile
      FileTailer& tailer = *it->second;
      tailer.wants_slot = false;
      if (!tailer.is_open()) {
        if (tailer.reopen(path) == FileTailer::Reopen::Open) {
          tailer.maybe_readable = true;
          tailer.last_data_ns = now;
        } else if (out_of_descriptors(tailer.open_errno())) {
          want_reopen(key, tailer, path);
          break;  // try again next round
        }
        // Otherwise it is not at that path any more: the rescan finds it or lets it go.
      }
    } else {
      auto first = waiting_.begin();
      std::string path = first->first;
      std::optional<FirstSeen> first_seen = first->second;
      waiting_.erase(first);
      if (start_tailing(path, first_seen) == Start::Waiting) break;  // out of descriptors
    }
    reopen_turn = !reopen_turn;
  }
}

void FileSource::read_once_then_finish(SourceContext& ctx) {
  // `stop_at_eof`: read each file to its end, hand on its unfinished last line, and close it,
  // so files waiting for a descriptor get theirs; then finish. One file after the other, in path
  // order (the order the scan found them), as `cat` prints them: a person reading
  // `sluice tail --no-follow a.log b.log` expects a.log's lines before b.log's.
  while (!stopping_.load()) {
    std::vector<FileTailer*> open;
    for (auto& [key, tailer] : tailers_) {
      if (tailer->is_open()) open.push_back(tailer.get());
    }
    std::sort(open.begin(), open.end(),
              [](const FileTailer* a, const FileTailer* b) { return a->path() < b->path(); });
    for (FileTailer* tailer : open) {
      while (!stopping_.load() && tailer->read_some(ctx, log_, scratch_, monotonic_ns()) ==
                                      FileTailer::ReadResult::Budget) {
        apply_acks(ctx);
      }
      if (stopping_.load()) return;
      tailer->finish(ctx, log_, scratch_);
      tailer->close();
      apply_acks(ctx);
    }
    if (waiting_.empty()) return;
    const size_t before = waiting_.size();
    share_slots(monotonic_ns());
    release_kept_pods();
    if (waiting_.size() == before) {
      log::error("no file descriptor free; files left unread", "source", options_.name, "files",
                 waiting_.size());
      return;
    }
  }
}

}  // namespace sluice
