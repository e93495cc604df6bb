#pragma once
// The file sink's output paths on disk: creating missing parent directories, the name a file
// gets when rotated, and — when creating or opening one fails — whose fault that is.
//
// A failure is the event's own when the object it is about lies below the path template's fixed
// prefix, i.e. where event data chose the name: `/out/{{ app }}/x.log` with app = a directory
// that exists as a file (ENOTDIR), a name that exists as a directory (EISDIR), a directory named
// by a value that may not be entered or written (EACCES). Those events can never be written and
// go to the dead-letter file. Everything else — no space, read-only file system, no descriptors,
// I/O errors, no permission on the configured directory itself — is the sink's: retried, holding
// the pipeline back, because it will pass.
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

// The directory part of `path`: "." for a bare name, "/" for a file in the root.
std::string parent_dir(const std::string& path);

// mkdir -p. Returns 0, or the errno of the first directory that could not be made, with its
// path in `failed`. An existing non-directory is left for open() to report (ENOTDIR).
int make_parent_dirs(const std::string& dir, std::string& failed);

// `out.jsonl.gz` rotated at `now_ns` becomes `out.20261125T033000Z.jsonl.gz` (UTC, before the
// first extension of the base name; `-1`, `-2`, ... when that name exists). A base name that
// would exceed 255 bytes, or a path that would exceed PATH_MAX, has its stem shortened (not inside
// a UTF-8 character).
std::string rotated_file_name(const std::string& path, int64_t now_ns);

// Where creating or opening failed: `err` from mkdir/open of `path` (the directory being made,
// or the file).
struct OpenFailure {
  int err = 0;
  std::string path;
};

// The path of the object `failure` is about, found by probing the file system (lstat, access):
// for ENOTDIR the first component that is not a directory, for EACCES/EPERM the directory that
// may not be searched or written, or the existing file that may not be written, for
// ENAMETOOLONG the component over 255 bytes. Empty for an errno that is never about a name.
std::string blamed_object(const OpenFailure& failure);

// True when `failure` is the event's own fault (see the top of this file): its blamed object
// lies strictly below `fixed_prefix` (Template::fixed_prefix(), which ends in `/` or is empty).
bool failure_is_events(const OpenFailure& failure, std::string_view fixed_prefix);

}  // namespace sluice
