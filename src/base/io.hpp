#pragma once
// Small POSIX I/O helpers shared by sources, sinks and logging.
#include <cstddef>
#include <string_view>

namespace sluice {

// Writes everything, retrying on EINTR and short writes. Returns false with errno set.
bool write_all(int fd, std::string_view data);

// Makes a pipe's buffer larger (fewer wake-ups under load); ignored where not allowed.
void grow_pipe(int fd);

void set_nonblocking(int fd);

}  // namespace sluice
