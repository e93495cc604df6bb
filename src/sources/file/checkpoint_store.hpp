#pragma once
// Where the `file` source resumes after a restart: per source, one JSON file
// `<data_dir>/checkpoints/<source>.json` with, for every tailed file, its identity and the offset
// up to which its lines have been acknowledged by every sink. Written atomically (temporary
// file, fsync, rename, directory fsync), so a crash leaves either the old or the new version.
//
//   {"version":1,"files":[
//   {"path":"/var/log/app.log","dev":2049,"ino":1234,"fp_len":256,"fp_hash":"9c1f0e2d3b4a5968",
//    "offset":4096,"updated_unix":1764040000}
//   ]}
//
// fp_hash is a hex string (JSON numbers lose precision past 2^53 in many readers); dev, ino and
// offset are decimal. A path that is not valid UTF-8 is also written as "path_hex" (its bytes in
// hex), which takes precedence when loading, so every path round-trips exactly.
// Not thread-safe: one store per source, used by that source's thread.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/byte_buffer.hpp"
#include "sources/file/fingerprint.hpp"

namespace sluice {

struct CheckpointEntry {
  std::string path;
  FileIdentity id;
  uint64_t offset = 0;       // bytes acknowledged
  int64_t updated_unix = 0;  // when the entry last changed or the file was last seen
};

inline constexpr int64_t kCheckpointFormatVersion = 1;
inline constexpr int64_t kDefaultCheckpointMaxAgeSeconds = 7 * 24 * 3600;

// Drops entries whose updated_unix is more than `max_age_seconds` before `now_unix` (files gone
// for long: their checkpoint would only ever match a recycled inode). Returns how many went.
size_t prune_checkpoints(std::vector<CheckpointEntry>& entries, int64_t now_unix,
                         int64_t max_age_seconds = kDefaultCheckpointMaxAgeSeconds);

// The file's text, and its parsing (which validates every field's presence and type). Exposed
// for tests and fuzzing; `error` says what is wrong and where (`files[3].offset: ...`).
void encode_checkpoints(const std::vector<CheckpointEntry>& entries, ByteBuffer& out);
bool parse_checkpoints(std::string_view json, std::vector<CheckpointEntry>* entries,
                       std::string* error);

class CheckpointStore {
 public:
  // `source_name` becomes the file name; bytes other than [A-Za-z0-9_.-] (and a leading '.')
  // are %XX-encoded, so no name can escape the directory.
  CheckpointStore(std::string data_dir, const std::string& source_name);

  // Missing file: empty, true. Unreadable or invalid file (bad JSON, wrong types, unknown
  // version, truncated): false, `error` names the file and the problem, and the file is renamed
  // to `<name>.json.corrupt-<unixtime>` so it is kept for inspection and a later save() does not
  // overwrite it. `entries` is cleared in every case.
  bool load(std::vector<CheckpointEntry>* entries, std::string* error);

  // Replaces the checkpoint atomically. On failure (ENOSPC, permissions, ...) returns false with
  // `error`, removes its temporary file, and the previous checkpoint file is untouched.
  bool save(const std::vector<CheckpointEntry>& entries, std::string* error);

  const std::string& path() const { return path_; }
  const std::string& directory() const { return dir_; }

 private:
  std::string dir_;
  std::string path_;
  ByteBuffer buffer_;  // reused across saves
};

}  // namespace sluice
