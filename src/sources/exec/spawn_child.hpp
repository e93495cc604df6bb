#pragma once
// Starts the `exec` source's command as it would start without sluice in between: default signal
// dispositions, an empty signal mask, and the open-files limit sluice itself started with (sluice
// raises its own, core/open_file_limit.hpp; the wrapped program must not inherit that).
// posix_spawn cannot set a resource limit for the child, so this is fork + exec, with only
// async-signal-safe calls in the child.
#include <sys/types.h>

#include <string>
#include <vector>

namespace sluice {

// Runs `command` (argv; argv[0] is looked up in PATH) with `stdout_fd` and `stderr_fd` as its
// stdout and stderr. Returns 0 with the child's pid in `pid`, or the errno of the failure
// (fork, or exec: the child reports it through a close-on-exec pipe and is reaped).
int spawn_child(std::vector<std::string>& command, int stdout_fd, int stderr_fd, pid_t* pid);

}  // namespace sluice
