#pragma once
// The process's open-file limit (RLIMIT_NOFILE). A node daemon follows thousands of files, and
// the common default soft limit (1024) is far below what the hard limit allows: at start sluice
// raises its soft limit to the hard limit, and the file sources size their descriptor use from
// what is then available, leaving a reserve for everything else.
#include <sys/resource.h>

#include <cstddef>

namespace sluice {

// Raises the soft RLIMIT_NOFILE to the hard limit; logs the change (or why it failed). Call once
// at start, on the main thread, before any thread or child exists.
void raise_open_file_limit();

// The limit sluice started with, before raise_open_file_limit(): what a child (an `exec`
// source's command) gets back, so that wrapping a program does not change its limit. A soft
// limit of 1024 is kept on purpose for programs that use select() (FD_SETSIZE) or close every
// descriptor up to the limit at start (slow under a hard limit of a million or more).
// Nothing when the limit was not changed.
[[nodiscard]] bool original_open_file_limit(struct rlimit* limit);

// The current soft limit on open descriptors.
[[nodiscard]] size_t open_file_limit();

// Descriptors the file sources leave to everything else: sink files, sockets (the HTTP server,
// Kafka, Elasticsearch), checkpoint and disk-buffer files, pipes, inotify and eventfds. At most
// half of the limit, so that a tiny limit still leaves the file sources some.
inline constexpr size_t kReservedDescriptors = 256;
[[nodiscard]] size_t reserved_descriptors(size_t limit);

// How many descriptors each of `file_sources` file sources may hold open under `limit`: what is
// left after the reserve, shared evenly, and at least 1.
[[nodiscard]] size_t file_source_descriptor_share(size_t limit, size_t file_sources);

}  // namespace sluice
