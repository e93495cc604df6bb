#include "core/disk_buffer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "base/crc32c.hpp"
#include "base/log.hpp"
#include "core/durable_file.hpp"

namespace sluice {

static_assert(std::endian::native == std::endian::little,
              "disk-buffer records are written in the host's byte order, assumed little-endian");

namespace {

constexpr std::string_view kSegmentSuffix = ".seg";
constexpr size_t kSegmentDigits = 20;
constexpr std::string_view kLedgerMagic = "sluice-buffer-ledger 1 ";

std::string errno_text(int err) { return std::strerror(err); }

// The CRC of a record covers its length field too: a flipped length bit is caught even when the
// payload it would frame happens to be intact.
uint32_t record_crc(uint32_t length, std::span<const iovec> pieces) {
  uint32_t crc = crc32c(&length, sizeof length);
  for (const iovec& piece : pieces) crc = crc32c(piece.iov_base, piece.iov_len, crc);
  return crc;
}

bool pread_all(int fd, void* out, size_t size, int64_t offset) {
  auto* p = static_cast<char*>(out);
  while (size > 0) {
    ssize_t n = ::pread(fd, p, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

// Writes every piece at `offset`, continuing after short writes. False with errno set.
bool pwritev_all(int fd, std::span<iovec> iov, int64_t offset) {
  size_t first = 0;
  while (first < iov.size()) {
    int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    ssize_t n = ::pwritev(fd, iov.data() + first, count, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {
      errno = EIO;
      return false;
    }
    offset += n;
    auto left = static_cast<size_t>(n);
    while (first < iov.size() && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      ++first;
    }
    if (left > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return true;
}

// The length of a valid record at `offset`, or -1 (torn, impossible length, CRC mismatch).
// Reads the payload in chunks so recovery needs no record-sized memory.
int64_t check_record(int fd, int64_t offset, int64_t end, std::vector<char>& scratch) {
  if (end - offset < DiskBuffer::kHeaderBytes) return -1;
  uint32_t header[2];
  if (!pread_all(fd, header, sizeof header, offset)) return -1;
  const int64_t length = header[0];
  if (length == 0 || offset + DiskBuffer::kHeaderBytes + length > end) return -1;
  uint32_t crc = crc32c(&header[0], sizeof header[0]);
  int64_t at = offset + DiskBuffer::kHeaderBytes;
  int64_t left = length;
  while (left > 0) {
    auto chunk = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(scratch.size())));
    if (!pread_all(fd, scratch.data(), chunk, at)) return -1;
    crc = crc32c(scratch.data(), chunk, crc);
    at += static_cast<int64_t>(chunk);
    left -= static_cast<int64_t>(chunk);
  }
  return crc == header[1] ? DiskBuffer::kHeaderBytes + length : -1;
}

bool parse_segment_number(std::string_view name, uint64_t* number) {
  if (name.size() != kSegmentDigits + kSegmentSuffix.size() || !name.ends_with(kSegmentSuffix)) {
    return false;
  }
  const char* end = name.data() + kSegmentDigits;
  auto [ptr, ec] = std::from_chars(name.data(), end, *number);
  return ec == std::errc() && ptr == end;
}

}  // namespace

std::string format_ledger(uint64_t segment, int64_t offset) {
  return std::string(kLedgerMagic) + std::to_string(segment) + " " + std::to_string(offset) + "\n";
}

bool parse_ledger(std::string_view text, uint64_t* segment, int64_t* offset) {
  if (!text.starts_with(kLedgerMagic) || !text.ends_with('\n')) return false;
  text.remove_prefix(kLedgerMagic.size());
  text.remove_suffix(1);
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, *segment);
  if (ec != std::errc() || p == end || *p != ' ') return false;
  auto [q, ec2] = std::from_chars(p + 1, end, *offset);
  return ec2 == std::errc() && q == end && *offset >= 0;
}

std::unique_ptr<DiskBuffer> DiskBuffer::open(DiskBufferOptions options, std::string* error) {
  std::unique_ptr<DiskBuffer> buffer(new DiskBuffer(std::move(options)));
  if (!buffer->recover(error)) return nullptr;
  return buffer;
}

std::string DiskBuffer::segment_path(uint64_t number) const {
  std::string digits = std::to_string(number);
  return options_.dir + "/" + std::string(kSegmentDigits - digits.size(), '0') + digits +
         std::string(kSegmentSuffix);
}

bool DiskBuffer::recover(std::string* error) {
  const std::string& dir = options_.dir;
  if (!make_dirs(dir, error)) return false;
  const std::string lock_path = dir + "/lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    *error = "cannot open " + lock_path + ": " + errno_text(errno);
    return false;
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    *error = errno == EWOULDBLOCK ? "disk buffer " + dir + " is in use by another process"
                                  : "cannot lock " + lock_path + ": " + errno_text(errno);
    return false;
  }

  std::vector<uint64_t> numbers;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    *error = "cannot list " + dir + ": " + errno_text(errno);
    return false;
  }
  while (dirent* entry = ::readdir(d)) {
    uint64_t number = 0;
    if (parse_segment_number(entry->d_name, &number)) numbers.push_back(number);
  }
  ::closedir(d);
  std::sort(numbers.begin(), numbers.end());

  // Where the sink's acknowledgements had reached. Without a (valid) ledger everything left is
  // read again: duplicates, never a loss.
  uint64_t ledger_segment = 0;
  int64_t ledger_offset = 0;
  const std::string ledger_path = dir + "/ledger";
  if (int fd = ::open(ledger_path.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    char text[128];
    ssize_t n = ::pread(fd, text, sizeof text, 0);
    ::close(fd);
    if (n < 0 || !parse_ledger({text, static_cast<size_t>(std::max<ssize_t>(n, 0))},
                               &ledger_segment, &ledger_offset)) {
      log::warn("disk buffer ledger unreadable: every record left in the buffer is read again",
                "path", ledger_path);
      ledger_segment = 0;
      ledger_offset = 0;
    }
  }

  std::vector<char> scratch(1 << 20);
  uint64_t recovered_records = 0;
  for (uint64_t number : numbers) {
    const std::string path = segment_path(number);
    if (number < ledger_segment) {
      // Fully acknowledged; the crash came before its deletion.
      ::unlink(path.c_str());
      continue;
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
      *error = "cannot open " + path + ": " + errno_text(errno);
      if (fd >= 0) ::close(fd);
      return false;
    }
    Segment segment;
    segment.number = number;
    segment.size = st.st_size;
    segment.sealed = true;
    int64_t start = number == ledger_segment ? std::min<int64_t>(ledger_offset, st.st_size) : 0;
    int64_t offset = start;
    while (offset < st.st_size) {
      int64_t length = check_record(fd, offset, st.st_size, scratch);
      if (length < 0) break;
      offset += length;
      ++recovered_records;
    }
    ::close(fd);
    segment.readable_end = offset;
    if (offset < st.st_size) {
      ++stats_.corrupt_records;
      stats_.skipped_bytes += static_cast<uint64_t>(st.st_size - offset);
      log::warn("disk buffer: torn or corrupt record skipped with the rest of its segment",
                "segment", path, "offset", offset, "bytes_skipped", st.st_size - offset);
    }
    if (segments_.empty()) {
      read_segment_ = number;
      read_offset_ = start;
    }
    stats_.disk_bytes += segment.size;
    segments_.push_back(segment);
  }
  stats_.records = recovered_records;
  uint64_t next = std::max(segments_.empty() ? 0 : segments_.back().number, ledger_segment) + 1;
  if (segments_.empty()) {
    read_segment_ = next;
    read_offset_ = 0;
  }
  ledger_segment_ = read_segment_;
  ledger_offset_ = read_offset_;
  log::info("disk buffer opened", "dir", dir, "records", recovered_records, "bytes",
            stats_.disk_bytes, "max_bytes", options_.max_bytes, "segment_bytes",
            options_.segment_bytes);
  int err = 0;
  std::lock_guard lock(mu_);
  if (!start_segment(next, &err)) {
    *error = "cannot create " + segment_path(next) + ": " + errno_text(err);
    return false;
  }
  return true;
}

bool DiskBuffer::start_segment(uint64_t number, int* err) {
  int fd = ::open(segment_path(number).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    *err = errno;
    return false;
  }
  if (write_fd_ >= 0) {
    if (options_.fsync == FsyncPolicy::Never || !write_dirty_) {
      ::close(write_fd_);
    } else {
      unsynced_fds_.push_back(write_fd_);
    }
  }
  if (!segments_.empty()) segments_.back().sealed = true;
  write_fd_ = fd;
  write_dirty_ = false;
  dir_dirty_ = true;
  Segment segment;
  segment.number = number;
  segments_.push_back(segment);
  return true;
}

bool DiskBuffer::retire_delivered_active_segment() {
  Segment& active = segments_.back();
  bool delivered = active.size > 0 && read_segment_ == active.number &&
                   read_offset_ >= active.readable_end && acked_below_ == next_id_;
  int err = 0;
  if (!delivered || !start_segment(active.number + 1, &err)) return false;
  // The reader is at the end of the retired segment (it is not inside a read: its offset is
  // only ever below the end while it reads): move it on, as read() would.
  Segment& retired = segments_[segments_.size() - 2];
  retired.read_done = true;
  read_segment_ = segments_.back().number;
  read_offset_ = 0;
  delete_acknowledged_segments();
  return true;
}

DiskBuffer::Segment* DiskBuffer::find_segment(uint64_t number) {
  for (Segment& s : segments_) {
    if (s.number == number) return &s;
  }
  return nullptr;
}

DiskBuffer::AppendResult DiskBuffer::append(std::span<const iovec> pieces) {
  size_t payload = 0;
  for (const iovec& piece : pieces) payload += piece.iov_len;
  AppendResult result;
  if (payload == 0 || payload > UINT32_MAX) {
    result.status = AppendStatus::Failed;
    result.error = EINVAL;
    return result;
  }
  uint32_t header[2] = {static_cast<uint32_t>(payload), 0};
  header[1] = record_crc(header[0], pieces);
  const auto record = static_cast<int64_t>(payload) + kHeaderBytes;
  // The header in front of the pieces, on the stack for the usual handful of pieces (a batch
  // record has at most six): no allocation per record.
  std::array<iovec, 8> local{};
  std::vector<iovec> spilled;
  std::span<iovec> iov;
  if (pieces.size() < local.size()) {
    iov = std::span<iovec>(local.data(), pieces.size() + 1);
  } else {
    spilled.resize(pieces.size() + 1);
    iov = spilled;
  }
  iov[0] = {header, sizeof header};
  std::copy(pieces.begin(), pieces.end(), iov.begin() + 1);

  std::unique_lock lock(mu_);
  if (stats_.disk_bytes > 0 && stats_.disk_bytes + record > options_.max_bytes) {
    // Only whole segments are deleted: when everything written is delivered, close the active
    // segment so that it can go (a single record larger than a segment would otherwise keep the
    // buffer full for ever).
    if (!retire_delivered_active_segment() ||
        (stats_.disk_bytes > 0 && stats_.disk_bytes + record > options_.max_bytes)) {
      result.status = AppendStatus::Full;
      return result;
    }
  }
  Segment* active = &segments_.back();
  if (active->size > 0 && active->size + record > options_.segment_bytes) {
    int err = 0;
    if (!start_segment(active->number + 1, &err)) {
      ++stats_.write_errors;
      result.status = AppendStatus::Failed;
      result.error = err;
      return result;
    }
    active = &segments_.back();
  }
  if (!pwritev_all(write_fd_, iov, active->size)) {
    result.error = errno;
    // Leave no partial record: the next append starts where this one did.
    (void)!::ftruncate(write_fd_, active->size);
    ++stats_.write_errors;
    result.status = AppendStatus::Failed;
    return result;
  }
  active->size += record;
  active->readable_end = active->size;
  stats_.disk_bytes += record;
  ++stats_.records;
  write_dirty_ = true;
  result.sequence = ++appended_;
  if (options_.fsync == FsyncPolicy::Always) {
    if (::fdatasync(write_fd_) != 0) {
      log::error("disk buffer: fdatasync failed", "dir", options_.dir, "error", errno_text(errno));
    }
    for (int fd : unsynced_fds_) {
      (void)::fdatasync(fd);
      ::close(fd);
    }
    unsynced_fds_.clear();
    if (dir_dirty_) {
      std::string ignored;
      dir_dirty_ = !sync_dir(options_.dir, &ignored);
    }
    write_dirty_ = false;
  }
  lock.unlock();
  data_cv_.notify_all();
  return result;
}

bool DiskBuffer::wait_for_room(int64_t payload_bytes, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return room_cv_.wait_for(lock, timeout, [&] {
    return stats_.disk_bytes == 0 ||
           stats_.disk_bytes + payload_bytes + kHeaderBytes <= options_.max_bytes;
  });
}

uint64_t DiskBuffer::sync(std::string* error) {
  std::vector<int> fds;
  int active = -1;
  bool dir = false;
  uint64_t covered = 0;
  {
    std::lock_guard lock(mu_);
    fds.swap(unsynced_fds_);
    // A duplicate: a roll may close write_fd_ while it is being synced.
    if (write_dirty_ && write_fd_ >= 0) active = ::fcntl(write_fd_, F_DUPFD_CLOEXEC, 0);
    write_dirty_ = false;
    dir = dir_dirty_;
    dir_dirty_ = false;
    covered = appended_;
  }
  if (active >= 0) fds.push_back(active);
  bool ok = true;
  for (int fd : fds) {
    if (::fdatasync(fd) != 0 && ok) {
      *error = "fdatasync in " + options_.dir + ": " + errno_text(errno);
      ok = false;
    }
    ::close(fd);
  }
  if (dir && !sync_dir(options_.dir, error)) ok = false;
  return ok ? covered : 0;
}

void DiskBuffer::skip_rest_of_segment(Segment& segment, int64_t offset, const char* why) {
  ++stats_.corrupt_records;
  stats_.skipped_bytes +=
      static_cast<uint64_t>(std::max<int64_t>(segment.readable_end - offset, 0));
  log::error("disk buffer: corrupt record skipped with the rest of its segment", "segment",
             segment_path(segment.number), "offset", offset, "reason", why);
  read_offset_ = segment.readable_end;
}

bool DiskBuffer::read(ByteBuffer& payload, uint64_t* id) {
  while (true) {
    int64_t end = 0;
    int64_t offset = 0;
    uint64_t segment_number = 0;
    {
      std::lock_guard lock(mu_);
      Segment* segment = find_segment(read_segment_);
      if (segment == nullptr) return false;  // cannot happen: the active segment is never passed
      end = segment->readable_end;
      if (read_offset_ >= end) {
        if (!segment->sealed) {
          appended_seen_ = appended_;
          return false;
        }
        segment->read_done = true;
        auto next = std::find_if(segments_.begin(), segments_.end(),
                                 [&](const Segment& s) { return s.number > read_segment_; });
        read_segment_ = next->number;
        read_offset_ = 0;
        delete_acknowledged_segments();
        continue;
      }
      offset = read_offset_;
      segment_number = read_segment_;
    }
    if (read_fd_ < 0 || read_fd_segment_ != segment_number) {
      if (read_fd_ >= 0) ::close(read_fd_);
      read_fd_ = ::open(segment_path(segment_number).c_str(), O_RDONLY | O_CLOEXEC);
      read_fd_segment_ = segment_number;
    }
    uint32_t header[2] = {0, 0};
    const char* problem = nullptr;
    if (read_fd_ < 0) {
      problem = "cannot open segment";
    } else if (end - offset < kHeaderBytes || !pread_all(read_fd_, header, sizeof header, offset)) {
      problem = "short header";
    } else if (header[0] == 0 || offset + kHeaderBytes + header[0] > end) {
      problem = "impossible length";
    } else {
      payload.resize(header[0]);
      if (!pread_all(read_fd_, payload.data(), header[0], offset + kHeaderBytes)) {
        problem = "short payload";
      } else if (crc32c(payload.data(), header[0], crc32c(&header[0], sizeof header[0])) !=
                 header[1]) {
        problem = "CRC mismatch";
      }
    }
    std::lock_guard lock(mu_);
    Segment* segment = find_segment(segment_number);
    if (problem != nullptr) {
      skip_rest_of_segment(*segment, offset, problem);
      continue;
    }
    read_offset_ = offset + kHeaderBytes + header[0];
    *id = next_id_++;
    segment->has_records = true;
    segment->last_id = *id;
    read_positions_.push_back({*id, segment_number, read_offset_});
    return true;
  }
}

void DiskBuffer::wait_readable(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  data_cv_.wait_for(lock, timeout, [&] { return appended_ != appended_seen_; });
}

bool DiskBuffer::caught_up() {
  std::lock_guard lock(mu_);
  return read_segment_ == segments_.back().number && read_offset_ >= segments_.back().readable_end;
}

void DiskBuffer::ack(uint64_t id) {
  {
    std::lock_guard lock(mu_);
    if (id == acked_below_) {
      ++acked_below_;
      while (!acked_ahead_.empty() && *acked_ahead_.begin() == acked_below_) {
        acked_ahead_.erase(acked_ahead_.begin());
        ++acked_below_;
      }
    } else if (id > acked_below_) {
      acked_ahead_.insert(id);
    } else {
      return;  // acknowledged twice: a sink bug, but harmless here
    }
    if (stats_.records > 0) --stats_.records;
    while (!read_positions_.empty() && read_positions_.front().id < acked_below_) {
      ledger_segment_ = read_positions_.front().segment;
      ledger_offset_ = read_positions_.front().end;
      read_positions_.pop_front();
    }
    delete_acknowledged_segments();
  }
  room_cv_.notify_all();
}

void DiskBuffer::delete_acknowledged_segments() {
  while (segments_.size() > 1) {
    Segment& front = segments_.front();
    bool acked = !front.has_records || front.last_id < acked_below_;
    if (!front.sealed || !front.read_done || !acked || front.number == read_segment_) break;
    ::unlink(segment_path(front.number).c_str());
    // The reader may still hold it open (it closes it when it moves on): unlinked is enough.
    stats_.disk_bytes -= front.size;
    segments_.pop_front();
    if (ledger_segment_ < segments_.front().number) {
      ledger_segment_ = segments_.front().number;
      ledger_offset_ = 0;
    }
  }
}

bool DiskBuffer::save_ledger(std::string* error) {
  std::lock_guard save_lock(ledger_mu_);
  uint64_t segment = 0;
  int64_t offset = 0;
  {
    std::lock_guard lock(mu_);
    segment = ledger_segment_;
    offset = ledger_offset_;
  }
  if (segment == saved_segment_ && offset == saved_offset_) return true;
  if (!replace_file(options_.dir, options_.dir + "/ledger", format_ledger(segment, offset),
                    error)) {
    return false;
  }
  saved_segment_ = segment;
  saved_offset_ = offset;
  return true;
}

DiskBufferStats DiskBuffer::stats() {
  std::lock_guard lock(mu_);
  return stats_;
}

void DiskBuffer::count_unreadable_record(size_t payload_bytes) {
  std::lock_guard lock(mu_);
  ++stats_.corrupt_records;
  stats_.skipped_bytes += payload_bytes + kHeaderBytes;
}

DiskBuffer::~DiskBuffer() {
  if (options_.fsync != FsyncPolicy::Never) {
    std::string error;
    if (sync(&error) == 0 && !error.empty()) {
      log::error("disk buffer: final sync failed", "error", error);
    }
  }
  if (lock_fd_ >= 0) {
    std::string error;
    if (!segments_.empty() && !save_ledger(&error)) {
      log::error("disk buffer: ledger not saved", "dir", options_.dir, "error", error);
    }
  }
  for (int fd : unsynced_fds_) ::close(fd);
  if (write_fd_ >= 0) ::close(write_fd_);
  if (read_fd_ >= 0) ::close(read_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

}  // namespace sluice
