#pragma once
// Files that must survive a crash: state directories created durably, and small state files
// (checkpoints, disk-buffer ledgers) replaced atomically, so a crash leaves the old or the new
// version, never a mix.
#include <string>
#include <string_view>

namespace sluice {

// mkdir -p. Each directory created is made durable by syncing its parent, so a state file's
// directory entry cannot vanish in a crash together with its directory. An existing directory
// is fine; an existing non-directory is an error.
bool make_dirs(const std::string& dir, std::string* error);

// fsync of a directory: makes the creation, rename or removal of its entries durable.
bool sync_dir(const std::string& dir, std::string* error);

// Replaces `path` (in the existing directory `dir`) with `data`: `path`.tmp written exclusively
// (a symlink planted there is never followed), fsynced, renamed over `path`, directory synced.
// On failure the previous version is kept and `error` says which step failed.
bool replace_file(const std::string& dir, const std::string& path, std::string_view data,
                  std::string* error);

// A component name (source or sink) as a file name: bytes other than [A-Za-z0-9_.-] and a
// leading '.' are %-escaped, so distinct names never share a file and none escapes its directory.
std::string component_file_name(std::string_view name);

}  // namespace sluice
