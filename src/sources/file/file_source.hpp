#pragma once
// The `file` source (and `container`, the same with runtime-record decoding): follows every
// file matched by `include` globs, through rename and copytruncate rotation and deletion, and
// keeps per-file checkpoints of what every sink has acknowledged, so a restart resumes where
// delivery stopped. One thread; inotify says when to look, a timer rescans regardless.
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "parse/event_parser.hpp"
#include "parse/multiline.hpp"
#include "sluice/source.hpp"
#include "sources/file/file_tailer.hpp"
#include "sources/file/progress.hpp"

namespace sluice {

namespace kube {
struct KubeOptions;
struct PodMetadata;
struct FileHints;
class KubeClient;
class PodCache;
}  // namespace kube

class PathMatcher;
class CheckpointStore;
class InotifyWatcher;

struct FileSourceOptions {
  std::string name;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  bool read_from_end = true;  // files found at the first start, without a checkpoint
  // With read_from_end: such files begin this many lines before their end (`sluice tail -n`).
  uint64_t lines_before_end = 0;
  int64_t glob_interval_ns = 1'000'000'000;
  int64_t poll_interval_ns = 250'000'000;  // files without an inotify watch
  size_t max_open_files = 1024;
  int64_t close_after_ns = 300'000'000'000;  // idle files give back their descriptor
  int64_t rotate_wait_ns =
      5'000'000'000;  // a rotated-away file is read this long after its last byte
  bool checkpoints = true;
  int64_t checkpoint_interval_ns = 1'000'000'000;
  bool stop_at_eof = false;  // read every file to its end once, then finish (`tail --no-follow`)
  bool inotify = true;       // false: poll every file each poll_interval (network filesystems)
  std::string data_dir;
  TailOptions tail;
  // `container` sources: the `kubernetes:` block (null for `file` sources).
  std::shared_ptr<const kube::KubeOptions> kube;
  // The source's `parser` settings: a pod's `sluice.io/parser` hint changes only the format.
  ParserOptions parser;
};

class FileSource final : public Source {
 public:
  explicit FileSource(FileSourceOptions options);
  ~FileSource() override;

  bool start(std::string* error) override;
  void run(SourceContext& ctx) override;
  void stop() override;
  // Reads every open file to its current end (whole lines) before stopping: see run().
  void retire() override;

  [[nodiscard]] std::vector<FileStatus> file_status() const override;
  [[nodiscard]] bool saved_final_state() const override { return !final_save_failed_; }
  [[nodiscard]] std::optional<KubernetesStatus> kubernetes_status() const override;
  // Lines of pods excluded by their `sluice.io/exclude` hint, as reason "excluded".
  [[nodiscard]] std::vector<std::pair<std::string, uint64_t>> dropped_events() const override;
  [[nodiscard]] const FileSourceOptions& options() const { return options_; }

  // ---- pod metadata without an API client (unit tests) ----
  // Asks for one GET of a pod missing from the cache; its answer goes into the cache.
  using PodRequest =
      std::function<void(const std::string& namespace_name, const std::string& pod_name)>;
  // Files are looked up in `pods` (which the test fills) instead of an API client's cache.
  // Before start().
  void use_pods(std::shared_ptr<kube::PodCache> pods, PodRequest request = {});
  // The clock of the wait for a pod (monotonic ns): tests move it instead of sleeping.
  void set_pod_clock(std::function<int64_t()> now) { pod_clock_ = std::move(now); }
  // A file whose pod is not in the cache waits this long for the watch to bring it, then one GET
  // is sent and its answer awaited at most kPodGetWaitNs; then the file is read with its path's
  // metadata only (a miss).
  static constexpr int64_t kPodWaitNs = 1'000'000'000;
  static constexpr int64_t kPodGetWaitNs = 2'000'000'000;
  struct PodCounters {
    // Lines read and dropped: their pod says `sluice.io/exclude: "true"`.
    uint64_t excluded_events = 0;
    uint64_t misses = 0;  // read with the path's metadata: the pod was not found in time
    uint64_t gets = 0;    // GETs of a pod sent
  };
  [[nodiscard]] PodCounters pod_counters() const;

 private:
  using Key = std::pair<dev_t, ino_t>;

  void scan(SourceContext& ctx, bool initial);
  void read_open_files_to_end(SourceContext& ctx);
  // A file found by the very first scan: with `read_from: end` it starts at its size then, even
  // when it waited for a descriptor, so that lines written while it waited are read.
  struct FirstSeen {
    Key key;
    uint64_t size = 0;
  };
  // Waiting: for a descriptor; PodWait: for its pod's metadata; Skipped: not to be read
  // (its namespace is not selected, sluice's own pod). A pod excluded by its hint is read, its
  // lines dropped and counted (FileTailer::set_excluded).
  enum class Start { Tailing, Waiting, PodWait, Skipped, Failed };
  Start start_tailing(const std::string& path, const std::optional<FirstSeen>& first_seen);
  void wait_for_slot(const std::string& path, const std::optional<FirstSeen>& first_seen);
  void want_reopen(const Key& key, FileTailer& tailer, const std::string& path);
  // More files want a descriptor than max_open_files allows: files read to their end give theirs
  // to waiting files now rather than after close_after (see file_source_slots.cpp).
  void share_slots(int64_t now);
  size_t close_read_files(size_t wanted);
  [[nodiscard]] size_t free_slots() const;
  void read_once_then_finish(SourceContext& ctx);
  void read_round(SourceContext& ctx, int64_t now);
  void retire_released(SourceContext& ctx, int64_t now, bool force);
  void close_idle(int64_t now);
  void apply_acks(SourceContext& ctx);
  bool save_checkpoints(bool force);  // false: the checkpoint could not be written
  void publish_status();
  [[nodiscard]] int poll_timeout_ms(int64_t now) const;

  // ---- Kubernetes metadata (file_source_kube.cpp) ----
  bool start_kubernetes(std::string* error);
  // What a file's pod says beyond its fields.
  struct PodFile {
    std::shared_ptr<void> pin;  // keeps a deleted pod's metadata while the file is read
    // A `sluice.io/multiline` hint: the file's own joiner settings (null: the source's).
    std::shared_ptr<const MultilineOptions> multiline;
    bool excluded = false;  // `sluice.io/exclude: "true"`: lines dropped and counted
  };
  // Adds the pod's fields to `origin` and fills `file`, or says the file waits or is skipped.
  // `first_seen` is replaced by the one the file had when it began to wait.
  Start pod_metadata(const std::string& path, std::optional<FirstSeen>& first_seen, Origin& origin,
                     PodFile& file);
  // The pod's hints for the file of `container`: its parser set in `origin` (an unknown value
  // logged once per pod); the caller uses the rest.
  kube::FileHints apply_hints(const kube::PodMetadata& pod, std::string_view container,
                              Origin& origin);
  // Logs once per pod that its logs are dropped (`excluded`), or no longer.
  void note_exclusion(const kube::PodMetadata& pod, bool excluded);
  std::shared_ptr<const EventParser> hinted_parser(ParserKind kind);
  std::shared_ptr<const MultilineOptions> hinted_multiline(MultilineOptions::Mode mode);
  // The cache files are looked up in: the API client's, or the one use_pods() gave.
  [[nodiscard]] kube::PodCache* pod_cache() const;
  [[nodiscard]] int64_t pod_now() const;
  void count_miss();
  void retry_pod_waits();
  // Files whose pod changed since their Origin was made get a new one, and their parser and
  // exclusion hints again (from their next read).
  void refresh_pod_origins();
  void add_pod_to_origin(Origin& origin, const kube::PodMetadata& pod,
                         std::string_view container) const;
  void save_kept_pods(bool force);
  // After a restart: the kept deleted pods loaded from data_dir that no file pins are let go,
  // but those of files waiting for a descriptor or for their pod (they pin it when they open);
  // done again as those files open or go, until none waits.
  void release_kept_pods();
  void stop_kubernetes();
  // Files no longer matched leave skipped_ (short-lived pods of namespaces left out would grow it
  // forever).
  void forget_skipped(const std::vector<std::string>& matched);

  FileSourceOptions options_;
  std::unique_ptr<PathMatcher> matcher_;
  std::unique_ptr<CheckpointStore> store_;
  std::unique_ptr<InotifyWatcher> watcher_;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> retiring_{false};  // stopping for a reload: read_open_files_to_end() first

  std::map<Key, std::unique_ptr<FileTailer>> tailers_;
  std::map<Key, std::shared_ptr<FileProgress>> known_;  // everything the checkpoint file holds
  size_t open_files_ = 0;  // descriptors the tailers hold (each FileTailer counts its own)
  // Matched, but no descriptor free.
  std::map<std::string, std::optional<FirstSeen>> waiting_;
  // Closed files that changed and wait for a descriptor, with the path to reopen them through.
  std::deque<std::pair<Key, std::string>> reopen_queue_;
  log::RateLimit waiting_log_{60'000'000'000};
  std::atomic<bool> final_save_failed_{false};
  std::set<std::string> failed_;  // could not be opened: warned once
  bool had_checkpoints_ = false;  // ran before: files new at start appeared while down
  CheckpointLog log_;
  Batch scratch_;  // raw container records, decoded into pushed batches
  bool dirty_ = false;
  int64_t next_scan_ns_ = 0;
  int64_t next_poll_ns_ = 0;
  int64_t last_save_ns_ = 0;

  mutable std::mutex status_mutex_;
  std::vector<FileStatus> status_;

  std::unique_ptr<kube::KubeClient> kube_;
  std::shared_ptr<kube::PodCache> given_pods_;  // use_pods()
  PodRequest request_pod_;
  std::function<int64_t()> pod_clock_;
  std::map<ParserKind, std::shared_ptr<const EventParser>> hinted_parsers_;
  std::map<MultilineOptions::Mode, std::shared_ptr<const MultilineOptions>> hinted_multiline_;
  std::set<std::string> logged_hints_;        // pods (uid) whose unknown hint value was logged
  bool releasing_kept_pods_ = false;          // release_kept_pods() has pods it may still let go
  size_t kept_pods_waiting_seen_ = SIZE_MAX;  // files waiting when it last looked
  std::atomic<uint64_t> excluded_events_{0};  // lines dropped for `sluice.io/exclude`
  std::set<std::string> excluded_pods_;       // uids of pods whose files drop their lines
  std::atomic<uint64_t> pod_misses_{0};
  std::atomic<uint64_t> pod_gets_{0};
  struct PodWait {
    std::optional<FirstSeen> first_seen;
    int64_t since_ns = 0;
    int64_t get_at_ns = 0;   // the watch had its chance: one GET
    int64_t give_up_ns = 0;  // after the GET: path metadata only
    bool get_sent = false;
    std::shared_ptr<std::atomic<bool>> answered;
  };
  std::map<std::string, PodWait> pod_waits_;
  std::set<std::string> skipped_;  // logged once; paths no longer matched leave it
  std::string kept_pods_dir_;
  std::string kept_pods_path_;
  uint64_t kept_pods_saved_ = ~uint64_t{0};
  uint64_t pods_generation_seen_ = 0;  // PodCache::deleted_changes() at the last save
};

}  // namespace sluice
