#pragma once
// The pods of this node as the file source needs them: looked up by uid or by namespace/name
// from any thread (a shared lock and a shared_ptr copy), replaced whole by the watch on every
// change. A pod deleted from the API stays (marked deleted) while files of it are pinned, so
// that the end of a short-lived pod's log still gets its metadata; those kept pods are saved to
// a file in data_dir and loaded at start, so that this holds across a restart too.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "sources/container/pod_metadata.hpp"

namespace sluice::kube {

using PodPtr = std::shared_ptr<const PodMetadata>;

class PodCache {
 public:
  // ---- lookups, any thread ----
  [[nodiscard]] PodPtr find_uid(std::string_view uid) const;
  // The pod of that name: the live one, else the last deleted one still kept.
  [[nodiscard]] PodPtr find(std::string_view namespace_name, std::string_view name) const;
  [[nodiscard]] size_t size() const;
  // Pods kept after their deletion (pinned by files, or loaded and not yet released).
  [[nodiscard]] size_t deleted_size() const;
  // Moves on with every change of a pod (added, changed, deleted, gone).
  [[nodiscard]] uint64_t generation() const { return generation_.load(); }
  // Moves on whenever the set of kept deleted pods changes (what save_deleted() would write).
  [[nodiscard]] uint64_t deleted_changes() const { return deleted_changes_.load(); }
  // Sum of PodMetadata::memory_bytes() and the indexes' own memory (an estimate).
  [[nodiscard]] size_t memory_bytes() const;

  // ---- changes (the watch, a GET's answer) ----
  // Adds or replaces the pod of that uid (its pins stay).
  void upsert(PodPtr pod);
  // The pod is gone from the API: erased unless pinned, else kept marked deleted.
  void remove(std::string_view uid);
  // After a full list: every pod whose uid is not in `listed` is removed as above.
  void remove_all_but(const std::unordered_set<std::string>& listed);

  // ---- files ----
  // A file of the pod is open: the pod stays until every pin is released. nullptr (and no pin)
  // when the pod is not in the cache.
  PodPtr pin(std::string_view uid);
  void unpin(std::string_view uid);
  // Erases the deleted pods that no file pins, but those in `keep` (pods of files the source
  // knows that have not pinned them yet: after a restart, files waiting for a descriptor).
  void release_unpinned_deleted(const std::unordered_set<std::string>& keep = {});

  // ---- the kept deleted pods across restarts ----
  // Writes the deleted pods (durably: replace_file) to `path` in directory `dir`; with none, the
  // file holds an empty list.
  bool save_deleted(const std::string& dir, const std::string& path, std::string* error) const;
  // Adds the pods of a file written by save_deleted() as deleted pods (read with `options`).
  // A missing file is no error.
  bool load_deleted(const std::string& path, const PodExtractOptions& options, std::string* error);

 private:
  struct Entry {
    PodPtr pod;
    uint32_t pins = 0;
  };
  // What a "namespace/name" finds, and how many pods of the cache have that name: more than one
  // when a recreated pod's predecessor is kept deleted, or when the API server says so.
  struct Named {
    std::string uid;
    uint32_t pods = 0;
  };
  static std::string name_key(std::string_view namespace_name, std::string_view name);
  static std::string name_key(const PodMetadata& pod);
  // Under the exclusive lock.
  void remove_locked(const std::string& uid);
  void erase_locked(std::unordered_map<std::string, Entry>::iterator it);
  // The pod `uid` has the name `key`: a live pod takes the name over, a deleted one only a name
  // no other pod has.
  void name_locked(const std::string& key, const std::string& uid, bool live);
  // The pod `uid` no longer has the name `key`: the name goes to another pod that has it (a live
  // one first), else away.
  void unname_locked(const std::string& key, const std::string& uid);

  std::atomic<uint64_t> deleted_changes_{0};
  std::atomic<uint64_t> generation_{0};
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, Entry> by_uid_;
  std::unordered_map<std::string, Named> by_name_;  // "namespace/name" → its pod
};

// The JSON text save_deleted() writes for these pods: each as a Pod object read_pod() reads back
// into the same metadata.
std::string encode_pods(const std::vector<PodPtr>& pods);

// The pods of a text encode_pods() wrote (what load_deleted() reads from its file), read with
// `options` and appended to `pods` one by one. False with `error` set at the first item that is
// not a pod with a uid (or when the text is no list of pods); the pods before it stay appended.
bool decode_pods(std::string_view json, const PodExtractOptions& options,
                 std::vector<std::shared_ptr<PodMetadata>>* pods, std::string* error);

}  // namespace sluice::kube
