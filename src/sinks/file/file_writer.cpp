#include "sinks/file/file_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "sinks/file/compressed_stream.hpp"

namespace sluice {

namespace {

constexpr int64_t kUnset = INT64_MIN;

void set_error(std::string* error, std::string message) {
  if (error) *error = std::move(message);
}

std::string errno_text(int err) {
  char buf[256];
  return strerror_r(err, buf, sizeof buf);  // GNU variant: returns the message pointer
}

std::string describe(const char* what, const std::string& path, int err) {
  return std::string(what) + " " + path + ": " + errno_text(err);
}

// Returns 0 or the errno that stopped it; `written` tells how much reached the kernel either way,
// because a short write followed by ENOSPC leaves a prefix in the file that must not be repeated.
int write_all(int fd, const char* data, size_t size, size_t& written) {
  written = 0;
  while (written < size) {
    // Linux caps a single write() near 2 GiB anyway.
    size_t chunk = std::min(size - written, size_t{1} << 30);
    ssize_t n = ::write(fd, data + written, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;  // a regular file never does this; do not spin on it
    written += static_cast<size_t>(n);
  }
  return 0;
}

const char* file_type(mode_t mode) {
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "of another type";
}

// O_NONBLOCK for the open only: a FIFO without a reader under the name fails (ENXIO) instead of
// blocking the sink forever; writes then block as usual.
int open_append(const std::string& path, bool nofollow) {
  const int open_flags =
      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0);
  for (;;) {
    int fd = ::open(path.c_str(), open_flags, 0644);
    if (fd >= 0) {
      int flags = ::fcntl(fd, F_GETFL);
      if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
      return fd;
    }
    if (errno != EINTR) return fd;
  }
}

// Identifies the bytes of a write that failed after part of it was consumed, so that the retry the
// caller promises can skip that part. Two independent 32-bit sums make an accidental match of
// different data (which would drop it) vanishingly unlikely; it is computed on error paths only.
uint64_t fingerprint(std::string_view data) {
  uLong crc = crc32_z(0, nullptr, 0);
  uLong adler = adler32_z(0, nullptr, 0);
  const auto* bytes = reinterpret_cast<const Bytef*>(data.data());
  crc = crc32_z(crc, bytes, data.size());
  adler = adler32_z(adler, bytes, data.size());
  return (static_cast<uint64_t>(crc & 0xffffffffu) << 32) | (adler & 0xffffffffu);
}

}  // namespace

// The file itself (opening it safely, writing, syncing, closing, rotating); the compressed stream
// in front of it is a CompressedStream, which hands its output back through drain().
struct FileWriter::Impl final : CompressedStream::Drain {
  explicit Impl(const FileWriterOptions& options) : opt(options), stream(options, *this) {}
  ~Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  const FileWriterOptions& opt;
  int fd = -1;
  OpenFailure open_failure;  // of the last write(), if creating or opening the file failed
  uint64_t bytes = 0;
  // Age is measured on the caller's clock (the now_ns it passes), so it starts at the first
  // flush/maybe_rotate after the lazy open in write(), which has no timestamp.
  int64_t opened_at = kUnset;
  int64_t last_fsync = kUnset;
  bool unsynced = false;
  bool dir_sync_pending = false;
  // reopen() could not write the end of the stream; the old fd stays until that succeeds.
  bool close_pending = false;

  CompressedStream stream;  // a no-op without compression

  // A write that returned false after consuming a prefix of its input.
  struct Retry {
    bool active = false;
    size_t len = 0;
    uint64_t sum = 0;
    size_t consumed = 0;
  } retry;

  [[nodiscard]] bool compressed() const { return opt.compression != Compression::None; }

  // Refuses a name that exists as something other than a regular file (regular_only). Checked
  // before open (opening a device can have effects of its own) and again on the descriptor. The
  // failure is reported as EINVAL on the path: the name is unusable, not the sink.
  bool refuse_irregular(const struct stat& st, std::string* error) {
    // A directory is left to open(), which reports EISDIR.
    if (!opt.regular_only || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return false;
    open_failure = {EINVAL, opt.path};
    set_error(error, "open " + opt.path + ": not a regular file (" + file_type(st.st_mode) + ")");
    return true;
  }

  [[nodiscard]] bool nofollow() const { return opt.no_symlinks_after != std::string::npos; }

  // Refuses a path whose directories after the fixed prefix include a symbolic link (the last
  // component is opened with O_NOFOLLOW). Reported as ELOOP on the link: the event's name.
  bool refuse_links(std::string* error) {
    if (!nofollow()) return false;
    for (size_t slash = opt.path.find('/', opt.no_symlinks_after); slash != std::string::npos;
         slash = opt.path.find('/', slash + 1)) {
      std::string dir = opt.path.substr(0, slash);
      struct stat st {};
      if (::lstat(dir.c_str(), &st) != 0) return false;  // missing: created below, not a link
      if (S_ISLNK(st.st_mode)) {
        open_failure = {ELOOP, dir};
        set_error(error, "open " + opt.path + ": " + dir +
                             " is a symbolic link (not followed where event data names a file)");
        return true;
      }
    }
    return false;
  }

  bool open_file(std::string* error) {
    if (refuse_links(error)) return false;
    if (struct stat existing{}; opt.regular_only && ::stat(opt.path.c_str(), &existing) == 0 &&
                                refuse_irregular(existing, error)) {
      return false;
    }
    int f = open_append(opt.path, nofollow());
    if (f < 0 && errno == ENOENT && opt.create_dirs) {
      std::string failed;
      if (int err = make_parent_dirs(parent_dir(opt.path), failed)) {
        open_failure = {err, failed};
        set_error(error,
                  "create directory " + failed + " for " + opt.path + ": " + errno_text(err));
        return false;
      }
      f = open_append(opt.path, nofollow());
    }
    if (f < 0) {
      int err = errno;
      open_failure = {err, opt.path};
      set_error(error, describe("open", opt.path, err));
      return false;
    }
    struct stat st {};
    if (::fstat(f, &st) != 0) {
      int err = errno;
      ::close(f);
      set_error(error, describe("stat", opt.path, err));
      return false;
    }
    if (refuse_irregular(st, error)) {
      ::close(f);
      return false;
    }
    // A file that does not end in a newline holds a line cut short by a crash (kill -9 in the
    // middle of a write, power loss) of this or another writer: appending to it would glue the
    // next event to the fragment, and a reader would lose both. End the fragment first, so it
    // stays a line of its own. Not for compressed files (a cut gzip member or zstd frame is not
    // mended by a byte), nor while a failed write is being resumed (its prefix is in the file
    // on purpose and the rest must follow it).
    // The descriptor is write-only: the last byte is read through a second, read-only one of
    // the same file (/proc/self/fd, so a rename in between cannot make it another file); a file
    // we may not read is left as it is.
    if (!compressed() && !retry.active && S_ISREG(st.st_mode) && st.st_size > 0) {
      const std::string self = "/proc/self/fd/" + std::to_string(f);
      char last = '\n';
      if (int rfd = ::open(self.c_str(), O_RDONLY | O_CLOEXEC); rfd >= 0) {
        ssize_t got = 0;
        do {
          got = ::pread(rfd, &last, 1, st.st_size - 1);
        } while (got < 0 && errno == EINTR);
        if (got != 1) last = '\n';
        ::close(rfd);
      }
      size_t written = 0;
      int err = last != '\n' ? write_all(f, "\n", 1, written) : 0;
      if (err != 0) {
        ::close(f);
        set_error(error, describe("end the cut last line of", opt.path, err));
        return false;
      }
      st.st_size += static_cast<off_t>(written);
    }
    fd = f;
    bytes = static_cast<uint64_t>(st.st_size);
    // An empty file was most likely just created: its directory entry needs an fsync too.
    dir_sync_pending = dir_sync_pending || st.st_size == 0;
    opened_at = kUnset;
    unsynced = false;
    stream.start_file();
    return true;
  }

  bool sync_dir(std::string* error) {
    std::string dir = parent_dir(opt.path);
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || ::fsync(dfd) != 0) {
      int err = errno;
      if (dfd >= 0) ::close(dfd);
      set_error(error, "fsync directory " + dir + " of " + opt.path + ": " + errno_text(err));
      return false;
    }
    ::close(dfd);
    dir_sync_pending = false;
    return true;
  }

  bool sync(int64_t now, std::string* error) {
    if (fd >= 0 && unsynced && ::fdatasync(fd) != 0) {
      set_error(error, describe("fdatasync", opt.path, errno));
      return false;
    }
    unsynced = false;
    last_fsync = now;
    return !dir_sync_pending || sync_dir(error);
  }

  // Hands the compressed bytes pending to the file (CompressedStream::Drain).
  bool drain(std::string* error) override {
    while (stream.pending()) {
      const std::string_view bytes_pending = stream.pending_bytes();
      size_t n = 0;
      int err = write_all(fd, bytes_pending.data(), bytes_pending.size(), n);
      stream.consume(n);
      bytes += n;
      if (n > 0) unsynced = true;
      if (err) {
        set_error(error, describe("write", opt.path, err));
        return false;
      }
    }
    stream.drained();
    return true;
  }

  // Ends the stream, makes it durable per the policy and closes. On failure the fd stays open with
  // the unwritten tail buffered, so calling again (or writing on) loses nothing.
  bool end_file(std::string* error) {
    if (fd < 0) {
      close_pending = false;
      return true;
    }
    stream.begin_op();
    if (!stream.finish(error) || stream.failed_to_drain(error)) return false;
    if (!drain(error)) return false;
    if (opt.fsync != FileFsync::Never) {
      if (unsynced && ::fdatasync(fd) != 0) {
        set_error(error, describe("fdatasync", opt.path, errno));
        return false;
      }
      unsynced = false;
      if (dir_sync_pending && !sync_dir(error)) return false;
    }
    int rc = ::close(fd);
    int err = errno;
    fd = -1;
    close_pending = false;
    opened_at = kUnset;
    if (rc != 0 && err != EINTR) {  // the fd is gone either way; EINTR loses nothing on Linux
      set_error(error, describe("close", opt.path, err));
      return false;
    }
    return true;
  }

  size_t retry_skip(std::string_view data) const {
    if (!retry.active || data.size() < retry.len) return 0;
    // A prefix match also covers a caller that re-batched the failed bytes with newer ones.
    return fingerprint(data.substr(0, retry.len)) == retry.sum ? retry.consumed : 0;
  }

  bool fail(std::string_view data, size_t consumed) {
    retry.active = consumed > 0;
    if (retry.active) {
      retry.len = data.size();
      retry.sum = fingerprint(data);
      retry.consumed = consumed;
    }
    return false;
  }

  bool write(std::string_view data, std::string* error) {
    open_failure.err = 0;
    if (data.empty()) return true;
    const size_t skip = retry_skip(data);
    std::string_view rest = data.substr(skip);
    if (close_pending && !end_file(error)) return fail(data, skip);
    if (fd >= 0 && stream.pending() && !drain(error)) return fail(data, skip);
    if (rest.empty()) {
      retry.active = false;
      return true;
    }
    if (fd < 0 && !open_file(error)) return fail(data, skip);
    if (!compressed()) {
      size_t n = 0;
      int err = write_all(fd, rest.data(), rest.size(), n);
      bytes += n;
      if (n > 0) unsynced = true;
      if (err) {
        set_error(error, describe("write", opt.path, err));
        return fail(data, skip + n);
      }
    } else {
      if (!stream.init(error)) return fail(data, skip);
      stream.begin_op();
      if (!stream.compress(rest, error)) return fail(data, skip);
      // Everything is inside the stream now; only getting it to the file may be outstanding.
      if (stream.failed_to_drain(error)) return fail(data, data.size());
      if (!drain(error)) return fail(data, data.size());
    }
    retry.active = false;
    return true;
  }

  bool flush(int64_t now, std::string* error) {
    if (close_pending && !end_file(error)) return false;
    if (fd >= 0) {
      if (opened_at == kUnset) opened_at = now;
      stream.begin_op();
      if (!stream.sync_flush(error) || stream.failed_to_drain(error)) return false;
      if (!drain(error)) return false;
    }
    switch (opt.fsync) {
      case FileFsync::Never:
        return true;
      case FileFsync::Always:
        return sync(now, error);
      case FileFsync::Interval:
        if (!unsynced) return true;  // nothing new since the last fsync: already durable
        if (last_fsync != kUnset && now - last_fsync < opt.fsync_interval_ns) return false;
        return sync(now, error);
    }
    return true;
  }

  bool rename_current(int64_t now, std::string* error) {
    for (int attempt = 0;; ++attempt) {
      std::string target = FileWriter::rotated_name(opt.path, now);
      // NOREPLACE closes the window between rotated_name's existence check and the rename.
      if (::renameat2(AT_FDCWD, opt.path.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0)
        break;
      int err = errno;
      if (err == EEXIST && attempt < 100) continue;
      if (err == EINVAL || err == ENOSYS) {  // file system without NOREPLACE support
        if (::rename(opt.path.c_str(), target.c_str()) == 0) break;
        err = errno;
      }
      set_error(error, "rename " + opt.path + " to " + target + ": " + errno_text(err));
      return false;
    }
    bytes = 0;
    if (opt.fsync != FileFsync::Never) {
      dir_sync_pending = true;
      return sync_dir(error);
    }
    return true;
  }

  bool maybe_rotate(int64_t now, std::string* error) {
    if (close_pending && !end_file(error)) return false;
    if (fd < 0) return true;
    if (opened_at == kUnset) opened_at = now;
    bool by_size = opt.max_bytes > 0 && bytes >= opt.max_bytes;
    bool by_age = opt.rotate_interval_ns > 0 && now - opened_at >= opt.rotate_interval_ns;
    if (!by_size && !by_age) return true;
    // If the rename fails the finished file stays at `path` and is appended to (a new member or
    // frame); the next call retries since the limit is still exceeded.
    return end_file(error) && rename_current(now, error);
  }
};

FileWriter::FileWriter(FileWriterOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {}

FileWriter::~FileWriter() {
  std::string ignored;
  if (!impl_->end_file(&ignored) && impl_->fd >= 0) ::close(impl_->fd);
}

bool FileWriter::write(std::string_view data, std::string* error) {
  bool ok = impl_->write(data, error);
  bytes_on_disk_ = impl_->bytes;
  return ok;
}

bool FileWriter::flush(int64_t now_ns, std::string* error) {
  bool ok = impl_->flush(now_ns, error);
  bytes_on_disk_ = impl_->bytes;
  return ok;
}

bool FileWriter::maybe_rotate(int64_t now_ns, std::string* error) {
  bool ok = impl_->maybe_rotate(now_ns, error);
  bytes_on_disk_ = impl_->bytes;
  return ok;
}

void FileWriter::reopen() {
  if (impl_->fd < 0) return;
  impl_->close_pending = true;
  std::string ignored;  // a failure is retried by the next write/flush/maybe_rotate/close
  impl_->end_file(&ignored);
  bytes_on_disk_ = impl_->bytes;
}

bool FileWriter::close(std::string* error) {
  bool ok = impl_->end_file(error);
  bytes_on_disk_ = impl_->bytes;
  return ok;
}

const OpenFailure& FileWriter::open_failure() const { return impl_->open_failure; }

std::string FileWriter::rotated_name(const std::string& path, int64_t now_ns) {
  return rotated_file_name(path, now_ns);
}

}  // namespace sluice
