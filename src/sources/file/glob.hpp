#pragma once
// Path globs for the `file` source: which files to tail (include minus exclude), found by
// walking only the directories a pattern can reach, and which directories to watch for new ones.
//
// Pattern syntax, per path component: `*` (any run of characters), `?` (one character),
// `[abc]`, `[a-z]`, `[!a]` / `[^a]`, `\x` (a literal x), `{a,b}` (alternatives, may nest and may
// span components), and `**` as a whole component: any number of directories, zero included.
// Wildcards never match '/', and do match a leading '.' (log files are rarely hidden and hidden
// ones are usually wanted: `*.log` matches `.app.log`). A relative pattern is resolved against the
// working directory at create() time; returned paths are then absolute.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// One path component of `name` against one component pattern (`*`, `?`, `[...]`, `\x`; no
// braces, no '/'). Exposed for tests and for callers matching single names.
bool glob_match_component(std::string_view pattern, std::string_view name);

class PathMatcher {
 public:
  // Returns null and sets `error` (naming the pattern and what is wrong) for an invalid pattern:
  // empty, an unclosed `[` or `{`, a trailing `\`, a trailing '/', too many brace alternatives,
  // or no include pattern at all. Exclude patterns without a '/' match the basename of a path
  // (`*.gz`); others match the whole path.
  static std::unique_ptr<PathMatcher> create(const std::vector<std::string>& include,
                                             const std::vector<std::string>& exclude,
                                             std::string* error);

  // Every existing regular file (symlinks followed) matched by an include pattern and by no
  // exclude pattern, spelled through the pattern (symlinks are not resolved in the result),
  // sorted, without duplicates. Missing directories are skipped silently; directories that
  // cannot be read (EACCES, ...) are skipped and described in `errors`. A directory that is one
  // of its own ancestors (reached through a symlink loop) is not entered again, and a scan stops
  // after 100000 directories (with an error) rather than walking a whole machine.
  std::vector<std::string> scan(std::vector<std::string>* errors = nullptr) const;

  // True when `path` (relative paths are resolved against create()'s working directory) matches
  // an include pattern and no exclude pattern. Pure string matching: the file need not exist.
  bool matches(std::string_view path) const;

  // Directories to watch (inotify) so that new matching files are noticed: for each include
  // pattern, the deepest existing directory of its literal prefix (so a missing /var/log/app is
  // noticed when created), and every directory the scan walks into past it (under `*` and `**`
  // components: inotify is not recursive). Sorted, without duplicates.
  std::vector<std::string> watch_dirs() const;

  // Internal representation; public so the implementation's helpers can use it.
  struct Segment {
    enum class Kind : uint8_t { kLiteral, kGlob, kGlobstar };
    Kind kind = Kind::kLiteral;
    std::string text;  // kLiteral: unescaped name; kGlob: the component pattern
  };
  struct Pattern {
    std::string source;             // as configured, for messages
    std::vector<Segment> segments;  // components of the absolute, normalised pattern
    std::string root;               // the literal directory prefix ("/" at least)
    size_t first = 0;               // index of the first segment after `root`
    bool basename_only = false;     // exclude patterns without '/'
  };

 private:
  PathMatcher() = default;
  bool excluded(std::string_view abs_path) const;
  void walk(std::vector<std::string>* files, std::vector<std::string>* dirs,
            std::vector<std::string>* errors) const;

  std::string cwd_;
  std::vector<Pattern> include_;
  std::vector<Pattern> exclude_;
};

}  // namespace sluice
