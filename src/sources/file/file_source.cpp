#include "sources/file/file_source.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

#include "base/clock.hpp"
#include "base/log.hpp"
#include "core/open_file_limit.hpp"
#include "sources/container/kube_client.hpp"
#include "sources/container/kube_options.hpp"
#include "sources/container/kubernetes_path.hpp"
#include "sources/file/checkpoint_store.hpp"
#include "sources/file/glob.hpp"
#include "sources/file/inotify_watcher.hpp"

namespace sluice {

namespace {
// Checkpoint entries of files no longer seen are kept this long (a volume mounted late, a
// file briefly missing), then forgotten.
constexpr int64_t kForgetAfterSeconds = 24 * 3600;

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

// File sources of this process: they share the descriptors the open-files limit leaves.
std::atomic<size_t> g_file_sources{0};
}  // namespace

FileSource::FileSource(FileSourceOptions options)
    : options_(std::move(options)), wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  g_file_sources.fetch_add(1);
}

FileSource::~FileSource() {
  tailers_.clear();
  // Its GET callbacks write the wake descriptor: stopped before it is closed.
  stop_kubernetes();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  g_file_sources.fetch_sub(1);
}

bool FileSource::start(std::string* error) {
  matcher_ = PathMatcher::create(options_.include, options_.exclude, error);
  if (!matcher_) return false;
  if (options_.kube) {
    // One line, whichever way `auto` went: someone missing labels finds why here.
    const kube::KubeOptions& k = *options_.kube;
    log::info(k.active ? "kubernetes metadata on" : "kubernetes metadata off", "source",
              options_.name, "why", k.decision, "api_url", k.active ? k.api_url : "", "node",
              k.active ? k.node_name : "");
  }
  // More open files than the process may have would starve the sinks and the checkpoint of
  // descriptors (EMFILE): stay within this source's share of the limit.
  const size_t limit = open_file_limit();
  const size_t sources = g_file_sources.load();
  const size_t share = file_source_descriptor_share(limit, sources);
  if (options_.max_open_files > share) {
    log::warn("max_open_files lowered to fit the open-files limit", "source", options_.name,
              "max_open_files", share, "configured", options_.max_open_files, "open_files_limit",
              limit, "reserved", reserved_descriptors(limit), "file_sources", sources);
    options_.max_open_files = share;
  }
  if (options_.checkpoints) {
    store_ = std::make_unique<CheckpointStore>(options_.data_dir, options_.name);
    std::vector<CheckpointEntry> entries;
    std::string load_error;
    if (!store_->load(&entries, &load_error)) {
      // Documented recovery: the damaged file is kept aside; files start per read_from.
      log::error("checkpoint file unreadable; starting without it", "source", options_.name,
                 "error", load_error);
    }
    had_checkpoints_ = !entries.empty();
    for (const CheckpointEntry& entry : entries) {
      auto progress = std::make_shared<FileProgress>();
      progress->path = entry.path;
      progress->identity = entry.id;
      progress->acked_offset = entry.offset;
      progress->seen_unix = entry.updated_unix;
      known_[Key(static_cast<dev_t>(entry.id.dev), static_cast<ino_t>(entry.id.ino))] = progress;
    }
    if (!entries.empty()) {
      log::info("checkpoints loaded", "source", options_.name, "files", entries.size(), "path",
                store_->path());
    }
  }
  return start_kubernetes(error);
}

void FileSource::retire() {
  retiring_ = true;
  stop();
}

void FileSource::stop() {
  stopping_ = true;
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

FileSource::Start FileSource::start_tailing(const std::string& path,
                                            const std::optional<FirstSeen>& first_seen) {
  if (free_slots() == 0) {
    wait_for_slot(path, first_seen);
    return Start::Waiting;
  }
  auto origin = std::make_shared<Origin>();
  origin->file_path = path;
  std::optional<FirstSeen> first = first_seen;
  PodFile pod_file;  // the pod's pin and hints, for this file only
  if (options_.tail.container) {
    if (auto meta = kubernetes_from_path(path)) origin->fields = kubernetes_fields(*meta);
    const Start pod = pod_metadata(path, first, *origin, pod_file);
    if (pod != Start::Tailing) return pod;
  }
  std::unique_ptr<FileTailer> tailer;
  if (pod_file.multiline) {
    TailOptions tail = options_.tail;
    tail.framer.multiline = std::move(pod_file.multiline);
    tailer = std::make_unique<FileTailer>(path, tail, origin, nullptr, &open_files_);
  } else {
    tailer = std::make_unique<FileTailer>(path, options_.tail, origin, nullptr, &open_files_);
  }
  tailer->hold(std::move(pod_file.pin));
  if (pod_file.excluded) tailer->set_excluded(&excluded_events_);
  std::string error;
  if (!tailer->open(&error)) {
    if (tailer->open_errno() == EMFILE || tailer->open_errno() == ENFILE) {
      // Out of descriptors all the same (something else holds more than the reserve): the
      // file waits like one over max_open_files, instead of being given up.
      static log::RateLimit limit;
      uint64_t suppressed = 0;
      if (limit.allow(&suppressed)) {
        log::warn("out of file descriptors; files wait for one", "source", options_.name, "path",
                  path, "error", error, "suppressed", suppressed);
      }
      wait_for_slot(path, first);
      return Start::Waiting;
    }
    if (failed_.insert(path).second) {
      log::warn("cannot open file", "source", options_.name, "path", path, "error", error);
    }
    return Start::Failed;
  }
  failed_.erase(path);
  waiting_.erase(path);
  const FileIdentity& id = tailer->identity();
  origin->file_id = stable_file_id(id);
  Key key(static_cast<dev_t>(id.dev), static_cast<ino_t>(id.ino));

  std::shared_ptr<FileProgress> progress;
  uint64_t offset = 0;
  auto known = known_.find(key);
  if (known != known_.end() && !known->second->tailed &&
      same_file(tailer->fd(), known->second->identity)) {
    progress = known->second;
    offset = progress->acked_offset;
    if (offset > tailer->size()) {
      log::info(
          "file shorter than its checkpoint (truncated while stopped); reading from the start",
          "path", path, "checkpoint", offset, "size", tailer->size());
      offset = 0;
    } else {
      log::info("resuming file", "source", options_.name, "path", path, "offset", offset);
    }
  } else {
    // New to us (or the inode was reused by another file): a checkpoint does not apply.
    progress = std::make_shared<FileProgress>();
    bool from_end = first && options_.read_from_end && !had_checkpoints_;
    // Not the file the first scan saw there (replaced, or truncated since): new content.
    if (from_end && (first->key != key || first->size > tailer->size())) from_end = false;
    offset = from_end ? first->size : 0;
    if (from_end && options_.lines_before_end > 0) {
      offset = start_of_last_lines(tailer->fd(), offset, options_.lines_before_end);
    }
    log::info("tailing file", "source", options_.name, "path", path, "from",
              from_end ? "end" : "beginning");
  }
  progress->path = path;
  progress->identity = id;
  progress->acked_offset = offset;
  progress->tailed = true;
  progress->seen_unix = unix_now();
  known_[key] = progress;
  dirty_ = true;

  tailer->attach(progress);
  tailer->seek(offset);
  tailer->last_data_ns = monotonic_ns();
  if (watcher_) tailer->watch = watcher_->watch_file(path);
  tailers_[key] = std::move(tailer);
  return Start::Tailing;
}

void FileSource::scan(SourceContext& ctx, bool initial) {
  std::vector<std::string> errors;
  std::vector<std::string> paths = matcher_->scan(&errors);
  forget_skipped(paths);
  for (const auto& e : errors) {
    if (failed_.insert(e).second) log::warn("cannot scan", "source", options_.name, "error", e);
  }
  if (watcher_) watcher_->watch_dirs(matcher_->watch_dirs());
  std::set<Key> seen;
  const int64_t now_unix = unix_now();
  // Waiting paths are matched again below; those no longer matched stop waiting.
  std::map<std::string, std::optional<FirstSeen>> was_waiting;
  was_waiting.swap(waiting_);
  for (const std::string& path : paths) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    Key key(st.st_dev, st.st_ino);
    if (!seen.insert(key).second) continue;  // the same file through another path (symlink)
    auto it = tailers_.find(key);
    const std::optional<FirstSeen> first_seen =
        initial ? std::optional(FirstSeen{key, static_cast<uint64_t>(st.st_size)}) : std::nullopt;
    if (it == tailers_.end()) {
      auto waited = was_waiting.find(path);
      start_tailing(path, waited != was_waiting.end() ? waited->second : first_seen);
      continue;
    }
    FileTailer& tailer = *it->second;
    tailer.progress()->seen_unix = now_unix;
    if (!tailer.is_open()) {
      auto size = static_cast<uint64_t>(st.st_size);
      tailer.stat_size = size;
      if (size == tailer.seen_offset() || tailer.wants_slot) continue;
      if (free_slots() == 0) {
        want_reopen(key, tailer, path);
        continue;
      }
      // Through the path it was found at: a closed file renamed to another matched name.
      FileTailer::Reopen reopened = tailer.reopen(path);
      if (reopened == FileTailer::Reopen::Open) {
        tailer.maybe_readable = true;
        tailer.last_data_ns = monotonic_ns();
      } else if (reopened == FileTailer::Reopen::OtherFile) {
        // Same inode, other content: a new file took the old one's inode.
        if (watcher_) watcher_->unwatch(tailer.watch);
        tailer.progress()->tailed = false;
        tailers_.erase(it);
        start_tailing(path, first_seen);
      }
    } else {
      tailer.maybe_readable = true;  // cheap safety net for missed notifications
    }
  }
  const int64_t now = monotonic_ns();
  for (auto it = tailers_.begin(); it != tailers_.end();) {
    FileTailer& tailer = *it->second;
    if (seen.count(it->first) || tailer.released) {
      ++it;
      continue;
    }
    if (!tailer.is_open()) {
      // Closed and gone: nothing more can be read. Only a file that grew while it waited for a
      // descriptor (more files than max_open_files) had bytes left: say how many were lost.
      if (tailer.stat_size > tailer.seen_offset()) {
        log::warn(
            "file renamed or deleted while it waited for a descriptor; its unread bytes "
            "are lost",
            "source", options_.name, "path", tailer.path(), "bytes",
            tailer.stat_size - tailer.seen_offset(), "max_open_files", options_.max_open_files);
      }
      if (watcher_) watcher_->unwatch(tailer.watch);
      tailer.progress()->tailed = false;
      it = tailers_.erase(it);
      continue;
    }
    // Renamed away, deleted, or no longer matched: read on until it stays quiet.
    log::info("file rotated or removed; reading it to its end", "source", options_.name, "path",
              tailer.path());
    tailer.released = true;
    tailer.released_ns = now;
    tailer.maybe_readable = true;
    ++it;
  }
  (void)ctx;
}

void FileSource::read_round(SourceContext& ctx, int64_t now) {
  const bool poll_due = now >= next_poll_ns_;
  if (poll_due) next_poll_ns_ = now + options_.poll_interval_ns;
  for (auto& [key, tailer] : tailers_) {
    if (stopping_.load(std::memory_order_relaxed)) return;
    if (!tailer->is_open()) continue;
    if (tailer->maybe_readable || (poll_due && tailer->watch < 0)) {
      tailer->read_some(ctx, log_, scratch_, now);
    }
    tailer->flush_due(ctx, log_, now);
  }
}

void FileSource::retire_released(SourceContext& ctx, int64_t now, bool force) {
  for (auto it = tailers_.begin(); it != tailers_.end();) {
    FileTailer& tailer = *it->second;
    if (!tailer.released || tailer.maybe_readable) {
      ++it;
      continue;
    }
    int64_t quiet_since = std::max(tailer.released_ns, tailer.last_data_ns);
    if (!force && now - quiet_since < options_.rotate_wait_ns) {
      ++it;
      continue;
    }
    // Drained and quiet: whatever is left is final.
    while (tailer.read_some(ctx, log_, scratch_, now) != FileTailer::ReadResult::Nothing) {
    }
    tailer.finish(ctx, log_, scratch_);
    log::info("closed rotated file", "source", options_.name, "path", tailer.path(), "offset",
              tailer.read_offset());
    if (watcher_) watcher_->unwatch(tailer.watch);
    tailer.progress()->tailed = false;
    it = tailers_.erase(it);
  }
}

// A reload replaces this source. A file it has open may be one the successor will not look at
// (rotated to a name the new patterns leave out, or found by this source's last scan only), so
// its lines written so far are read now rather than left to a successor that would never read
// them. Lines still incomplete stay unread, as at any stop. Half the time to the deadline is
// spent at most: the rest is for their acknowledgement.
void FileSource::read_open_files_to_end(SourceContext& ctx) {
  const int64_t start = monotonic_ns();
  const int64_t until = start + (ctx.shutdown_deadline_ns() - start) / 2;
  for (auto& [key, tailer] : tailers_) {
    while (tailer->is_open() && monotonic_ns() < until &&
           tailer->read_some(ctx, log_, scratch_, monotonic_ns()) !=
               FileTailer::ReadResult::Nothing) {
    }
  }
  if (monotonic_ns() >= until) {
    log::warn("reload: a replaced source could not read every open file to its end in time",
              "source", options_.name);
  }
}

void FileSource::close_idle(int64_t now) {
  for (auto& [key, tailer] : tailers_) {
    if (tailer->is_open() && !tailer->released &&
        now - tailer->last_data_ns >= options_.close_after_ns &&
        tailer->next_deadline_ns() == INT64_MAX) {
      log::debug("closing idle file", "path", tailer->path());
      tailer->stat_size = tailer->size();
      tailer->close();  // its watch stays: a change reopens it
    }
  }
}

void FileSource::apply_acks(SourceContext& ctx) {
  if (log_.apply(ctx.acknowledged_checkpoint())) dirty_ = true;
}

bool FileSource::save_checkpoints(bool force) {
  if (!store_ || !dirty_) return true;
  const int64_t now = monotonic_ns();
  if (!force && now - last_save_ns_ < options_.checkpoint_interval_ns) return true;
  last_save_ns_ = now;
  const int64_t now_unix = unix_now();
  std::vector<CheckpointEntry> entries;
  entries.reserve(known_.size());
  for (auto it = known_.begin(); it != known_.end();) {
    const FileProgress& p = *it->second;
    if (!p.tailed && p.in_flight == 0 && now_unix - p.seen_unix > kForgetAfterSeconds) {
      it = known_.erase(it);
      continue;
    }
    entries.push_back(CheckpointEntry{p.path, p.identity, p.acked_offset, p.seen_unix});
    ++it;
  }
  std::string error;
  if (store_->save(entries, &error)) {
    dirty_ = false;
    return true;
  }
  if (force) {
    // The last save, at shutdown: no retry follows, so always say so.
    log::error(
        "final checkpoint not saved; a restart reads again what was delivered since the "
        "last saved checkpoint",
        "source", options_.name, "path", store_->path(), "error", error);
    return false;
  }
  static log::RateLimit limit;
  uint64_t suppressed = 0;
  if (limit.allow(&suppressed)) {
    log::error("cannot write checkpoints; will retry", "source", options_.name, "error", error,
               "suppressed", suppressed);
  }
  return false;
}

void FileSource::publish_status() {
  std::vector<FileStatus> status;
  status.reserve(tailers_.size());
  for (const auto& [key, tailer] : tailers_) {
    status.push_back(FileStatus{tailer->path(), tailer->read_offset(),
                                tailer->progress()->acked_offset, tailer->size()});
  }
  std::lock_guard lock(status_mutex_);
  status_.swap(status);
}

std::vector<FileStatus> FileSource::file_status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

int FileSource::poll_timeout_ms(int64_t now) const {
  int64_t next = next_scan_ns_;
  bool polled = !watcher_ || !watcher_->available();
  for (const auto& [key, tailer] : tailers_) {
    if (tailer->maybe_readable && tailer->is_open()) return 0;
    next = std::min(next, tailer->next_deadline_ns());
    if (tailer->released)
      next = std::min(
          next, std::max(tailer->released_ns, tailer->last_data_ns) + options_.rotate_wait_ns);
    if (tailer->is_open() && tailer->watch < 0) polled = true;
  }
  if (polled) next = std::min(next, next_poll_ns_);
  if (!log_.empty() || dirty_) next = std::min(next, now + 100'000'000);  // acks to record
  // Files waiting for their pod look again soon: the watch may have brought it.
  if (!pod_waits_.empty()) next = std::min(next, now + 50'000'000);
  if (dirty_ && store_) next = std::min(next, last_save_ns_ + options_.checkpoint_interval_ns);
  int64_t ms = (next - now + 999'999) / 1'000'000;
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
}

void FileSource::run(SourceContext& ctx) {
  if (!options_.stop_at_eof && options_.inotify) watcher_ = std::make_unique<InotifyWatcher>();
  scan(ctx, true);
  // The files reopened by the first scan have pinned the kept pods they use; those waiting for a
  // descriptor keep theirs until they open; the others' files were read to their end before the
  // restart.
  releasing_kept_pods_ = true;
  release_kept_pods();
  next_scan_ns_ = monotonic_ns() + options_.glob_interval_ns;
  publish_status();

  if (options_.stop_at_eof) {
    read_once_then_finish(ctx);
  } else {
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {watcher_ ? watcher_->fd() : -1, POLLIN, 0}};
    const nfds_t nfds = watcher_ && watcher_->available() ? 2 : 1;
    while (!stopping_.load()) {
      int64_t now = monotonic_ns();
      int ready = ::poll(fds, nfds, poll_timeout_ms(now));
      if (ready < 0 && errno != EINTR) {
        log::error("poll failed in file source", "error", std::strerror(errno));
        break;
      }
      if (stopping_.load()) break;
      if (fds[0].revents & POLLIN) {
        // A GET of a pod answered (stop() also writes it, and is seen above).
        uint64_t wakes = 0;
        (void)!::read(wake_fd_, &wakes, sizeof wakes);
      }
      now = monotonic_ns();
      bool rescan = now >= next_scan_ns_;
      if (nfds == 2 && (fds[1].revents & POLLIN)) {
        InotifyWatcher::Changes changes = watcher_->drain();
        rescan = rescan || changes.rescan;
        if (!changes.files.empty()) {
          std::sort(changes.files.begin(), changes.files.end());
          for (auto& [key, tailer] : tailers_) {
            if (tailer->watch >= 0 &&
                std::binary_search(changes.files.begin(), changes.files.end(), tailer->watch)) {
              if (!tailer->is_open() && free_slots() > 0 &&
                  tailer->reopen() == FileTailer::Reopen::Open) {
                tailer->last_data_ns = now;
              }
              if (tailer->is_open()) {
                tailer->maybe_readable = true;
              } else {
                // No descriptor free (or not at its path: the rescan looks for it). Not marked
                // readable while closed: the poll would spin until it gets a descriptor.
                want_reopen(key, *tailer, tailer->path());
              }
            }
          }
        }
      }
      if (rescan) {
        scan(ctx, false);
        close_idle(now);
        next_scan_ns_ = now + options_.glob_interval_ns;
        publish_status();
      }
      retry_pod_waits();
      refresh_pod_origins();
      read_round(ctx, now);
      retire_released(ctx, monotonic_ns(), false);
      share_slots(monotonic_ns());
      release_kept_pods();
      apply_acks(ctx);
      save_checkpoints(false);
      save_kept_pods(false);
    }
  }

  if (retiring_.load()) read_open_files_to_end(ctx);
  save_kept_pods(true);
  // Stopping: lines not yet complete stay unread (the checkpoint is before them), so a restart
  // reads them whole. Wait for what was pushed to be delivered, then record it.
  if (store_) {
    bool all = ctx.wait_for_acks(ctx.shutdown_deadline_ns() - 200'000'000);
    apply_acks(ctx);
    if (!save_checkpoints(true)) final_save_failed_ = true;
    if (!all) {
      log::warn("stopping before every line was acknowledged; a restart reads those again",
                "source", options_.name);
    }
  }
  publish_status();
}

}  // namespace sluice
