#include "cli/tail_archives.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "base/clock.hpp"
#include "base/io.hpp"
#include "base/log.hpp"
#include "parse/multiline.hpp"
#include "sources/stream_reader.hpp"

namespace sluice::cli {

namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// gzip, several members included (`cat a.gz b.gz`); zlib passes a file that is not gzip through
// unchanged. False when the output closed (tail stopping) or the data is damaged.
bool copy_gzip(const std::string& path, int out, std::string* error) {
  gzFile in = ::gzopen(path.c_str(), "rb");
  if (!in) {
    *error = std::strerror(errno);
    return false;
  }
  std::vector<char> buffer(256 * 1024);
  bool ok = true;
  for (;;) {
    int n = ::gzread(in, buffer.data(), static_cast<unsigned>(buffer.size()));
    if (n < 0) {
      int code = 0;
      *error = ::gzerror(in, &code);
      ok = false;
      break;
    }
    if (n == 0) break;
    if (!write_all(out, std::string_view(buffer.data(), static_cast<size_t>(n)))) break;
  }
  ::gzclose(in);
  return ok;
}

bool copy_zstd(const std::string& path, int out, std::string* error) {
  std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(path.c_str(), "rbe"), &std::fclose);
  if (!in) {
    *error = std::strerror(errno);
    return false;
  }
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> stream(ZSTD_createDStream(),
                                                                  &ZSTD_freeDStream);
  std::vector<char> in_buffer(ZSTD_DStreamInSize());
  std::vector<char> out_buffer(ZSTD_DStreamOutSize());
  size_t last = 0;  // 0 once a frame is complete
  while (size_t n = std::fread(in_buffer.data(), 1, in_buffer.size(), in.get())) {
    ZSTD_inBuffer input{in_buffer.data(), n, 0};
    while (input.pos < input.size) {
      ZSTD_outBuffer output{out_buffer.data(), out_buffer.size(), 0};
      last = ZSTD_decompressStream(stream.get(), &output, &input);
      if (ZSTD_isError(last)) {
        *error = ZSTD_getErrorName(last);
        return false;
      }
      if (!write_all(out, std::string_view(out_buffer.data(), output.pos))) return true;
    }
  }
  if (last != 0) {
    *error = "the file ends inside a zstd frame (truncated?)";
    return false;
  }
  return true;
}

}  // namespace

bool is_compressed_name(std::string_view path) {
  return ends_with(path, ".gz") || ends_with(path, ".zst");
}

FramerOptions archive_framer(const std::optional<std::string>& multiline) {
  FramerOptions framer;
  if (multiline) {
    auto options = std::make_shared<MultilineOptions>();
    using Mode = MultilineOptions::Mode;
    const std::string& mode = *multiline;  // one of --multiline's choices
    options->mode = mode == "java"     ? Mode::Java
                    : mode == "python" ? Mode::Python
                    : mode == "go"     ? Mode::Go
                                       : Mode::Auto;
    framer.multiline = std::move(options);
  }
  return framer;
}

ArchiveSource::ArchiveSource(std::string path, FramerOptions framer)
    : path_(std::move(path)),
      framer_(std::move(framer)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

ArchiveSource::~ArchiveSource() {
  for (int fd : {pipe_[0], pipe_[1], wake_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

bool ArchiveSource::start(std::string* error) {
  if (::access(path_.c_str(), R_OK) != 0 || ::pipe2(pipe_, O_CLOEXEC) != 0 || wake_fd_ < 0) {
    *error = path_ + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

void ArchiveSource::stop() {
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void ArchiveSource::run(SourceContext& ctx) {
  grow_pipe(pipe_[1]);
  std::thread decompress([this] {
    std::string error;
    bool ok = ends_with(path_, ".zst") ? copy_zstd(path_, pipe_[1], &error)
                                       : copy_gzip(path_, pipe_[1], &error);
    if (!ok) log::warn("cannot decompress", "path", path_, "error", error);
    ::close(pipe_[1]);  // the reader sees the end of input
    pipe_[1] = -1;
  });
  StreamReader reader(ctx, "", framer_);
  pollfd fds[2] = {{pipe_[0], POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  bool at_eof = false;
  for (;;) {
    int ready = ::poll(fds, 2, reader.poll_timeout_ms());
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    reader.flush_if_due(ready == 0, monotonic_ns());
    if (ready == 0) continue;
    if (fds[1].revents & POLLIN) break;  // stop requested
    ssize_t n = reader.read_once(pipe_[0]);
    if (n == 0 || n == -2) {
      at_eof = n == 0;
      break;
    }
    if (n > 0) reader.note_read(monotonic_ns());
  }
  reader.finish(!at_eof);
  // A writer still blocked on a full pipe gets EPIPE once nobody reads it.
  ::close(pipe_[0]);
  pipe_[0] = -1;
  decompress.join();
}

}  // namespace sluice::cli
