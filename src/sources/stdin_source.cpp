#include "sources/stdin_source.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <utility>

#include "base/clock.hpp"
#include "base/io.hpp"
#include "base/log.hpp"
#include "sources/stream_reader.hpp"

namespace sluice {

StdinSource::StdinSource(FramerOptions framer, int fd)
    : framer_(std::move(framer)), fd_(fd), wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

StdinSource::~StdinSource() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void StdinSource::stop() {
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void StdinSource::run(SourceContext& ctx) {
  grow_pipe(fd_);
  StreamReader reader(ctx, "stdin", framer_);
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  bool at_eof = false;
  while (true) {
    int ready = ::poll(fds, 2, reader.poll_timeout_ms());
    if (ready < 0) {
      if (errno == EINTR) continue;
      log::error("poll on stdin failed", "error", std::strerror(errno));
      break;
    }
    reader.flush_if_due(ready == 0, monotonic_ns());
    if (ready == 0) continue;
    if (fds[1].revents & POLLIN) break;  // stop requested
    ssize_t n = reader.read_once(fd_);
    if (n == 0) {
      at_eof = true;
      break;
    }
    if (n == -2) {
      log::error("reading stdin failed", "error", std::strerror(errno));
      break;
    }
    if (n > 0) reader.note_read(monotonic_ns());
  }
  reader.finish(!at_eof);
}

}  // namespace sluice

#include "options/components.hpp"
#include "options/descriptor.hpp"

namespace sluice {

namespace {

std::unique_ptr<Source> make_stdin_source(MapReader& config, const SourceBuildContext& context) {
  return std::make_unique<StdinSource>(context.framer);
}

}  // namespace

const ComponentDescriptor& stdin_source_descriptor() {
  static const ComponentDescriptor descriptor{
      .kind = ComponentKind::Source,
      .type = "stdin",
      .summary = "reads lines from standard input; its end drains everything and exits 0",
      .make_source = &make_stdin_source,
  };
  return descriptor;
}

}  // namespace sluice
