#include "base/io.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <cerrno>

namespace sluice {

bool write_all(int fd, std::string_view data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd pfd{fd, POLLOUT, 0};
        ::poll(&pfd, 1, 100);
        continue;
      }
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

void grow_pipe(int fd) {
  // 1 MiB is the default /proc/sys/fs/pipe-max-size for unprivileged processes.
  (void)::fcntl(fd, F_SETPIPE_SZ, 1 << 20);
}

void set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) (void)::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

}  // namespace sluice
