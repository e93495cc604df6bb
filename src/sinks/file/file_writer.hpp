#pragma once
// One output file of the file sink: appends encoded bytes, optionally through gzip or zstd,
// rotates by size and by time, reopens on request (SIGHUP after logrotate), and applies the
// fsync policy. Not thread-safe: a file sink drives its writers from its own thread.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sinks/file/output_path.hpp"

namespace sluice {

enum class Compression { None, Gzip, Zstd };
// (Not FsyncPolicy: core/disk_buffer.hpp has one of that name, and both meet in the file sink's
// config code.)
enum class FileFsync { Never, Always, Interval };

struct FileWriterOptions {
  std::string path;
  Compression compression = Compression::None;
  int compression_level = 0;  // 0 = library default
  uint64_t max_bytes = 0;     // rotate when the file (bytes written to disk) reaches this; 0 = off
  int64_t rotate_interval_ns = 0;  // rotate when the file is this old; 0 = off
  FileFsync fsync = FileFsync::Never;
  int64_t fsync_interval_ns = 1'000'000'000;
  bool create_dirs = true;  // create missing parent directories
  // The name came from event data: anything but a regular file under it (a device node, a FIFO
  // or a socket a value happens to name) is refused, never opened, written to or rotated.
  bool regular_only = false;
  // No component of `path` after its first `no_symlinks_after` bytes (the template's fixed
  // prefix) may be a symbolic link: a name from event data never leads out of the directory,
  // whoever placed a link there. npos: links are followed (a path without placeholders).
  size_t no_symlinks_after = std::string::npos;
};

class FileWriter {
 public:
  explicit FileWriter(FileWriterOptions options);
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  // Appends whole events (rotation only ever happens between calls). Opens the file lazily.
  // Returns false and sets `error` on an I/O failure; the caller retries the same bytes later.
  bool write(std::string_view data, std::string* error);

  // Pushes buffered and compressor output to the kernel (gzip Z_SYNC_FLUSH / zstd flush) so that
  // everything written so far is readable by a decompressor; fsyncs when the policy says so
  // (Always: every call; Interval: when fsync_interval_ns has passed since the last fsync).
  // Returns true when the data written so far is durable per the policy.
  bool flush(int64_t now_ns, std::string* error);

  // Rotates if the size or age limit is reached. Called by the sink between writes.
  bool maybe_rotate(int64_t now_ns, std::string* error);

  // Closes (finishing the compressed stream) and reopens at the same path on the next write.
  void reopen();

  // Finishes the compressed stream and closes the file.
  bool close(std::string* error);

  [[nodiscard]] const std::string& path() const { return options_.path; }
  // Set (err != 0) when the last write() failed because the file or one of its directories could
  // not be created or opened; the caller decides whose fault that is (sinks/file/output_path.hpp).
  [[nodiscard]] const OpenFailure& open_failure() const;
  [[nodiscard]] uint64_t bytes_written() const { return bytes_on_disk_; }

  // Name the current file gets when rotated at `now_ns`: rotated_file_name().
  static std::string rotated_name(const std::string& path, int64_t now_ns);

 private:
  FileWriterOptions options_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t bytes_on_disk_ = 0;
};

}  // namespace sluice
