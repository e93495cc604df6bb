#include "sources/file/glob.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace sluice {

namespace {

using Segment = PathMatcher::Segment;
using Pattern = PathMatcher::Pattern;
using Kind = Segment::Kind;

constexpr size_t kNpos = std::string_view::npos;
// Matching keeps the set of live pattern positions as a bitmask: position n (all segments
// consumed) must fit too, hence 63 segments at most.
constexpr size_t kMaxSegments = 63;
constexpr size_t kMaxAlternatives = 1024;  // brace expansion of one pattern
// A pattern such as `/**` would walk the whole machine every second: stop and say so instead.
constexpr size_t kMaxDirsPerScan = 100000;
constexpr size_t kMaxDepth = 256;

// Index just past the bracket expression that starts at p[i] == '[', or kNpos if unclosed.
// A ']' right after `[` or `[!` is a member, as in POSIX.
size_t bracket_end(std::string_view p, size_t i) {
  size_t j = i + 1;
  if (j < p.size() && (p[j] == '!' || p[j] == '^')) ++j;
  if (j < p.size() && p[j] == ']') ++j;
  while (j < p.size() && p[j] != ']') j += p[j] == '\\' ? 2 : 1;
  return j < p.size() ? j + 1 : kNpos;
}

// `b` is a whole bracket expression, `[` to `]`.
bool bracket_match(std::string_view b, unsigned char c) {
  size_t i = 1;
  const size_t end = b.size() - 1;
  bool negate = false;
  if (b[i] == '!' || b[i] == '^') {
    negate = true;
    ++i;
  }
  bool hit = false;
  bool first = true;
  while (i < end && (first || b[i] != ']')) {
    first = false;
    if (b[i] == '\\' && i + 1 < end) ++i;
    auto lo = static_cast<unsigned char>(b[i++]);
    auto hi = lo;
    if (i + 1 < end && b[i] == '-') {
      size_t h = i + 1;
      if (b[h] == '\\' && h + 1 < end) ++h;
      hi = static_cast<unsigned char>(b[h]);
      i = h + 1;
    }
    if (c >= lo && c <= hi) hit = true;
  }
  return hit != negate;
}

bool has_meta(std::string_view comp) {
  for (size_t i = 0; i < comp.size(); ++i) {
    char c = comp[i];
    if (c == '\\') {
      ++i;
    } else if (c == '*' || c == '?' || c == '[') {
      return true;
    }
  }
  return false;
}

std::string unescape(std::string_view comp) {
  std::string out;
  out.reserve(comp.size());
  for (size_t i = 0; i < comp.size(); ++i) {
    if (comp[i] == '\\' && i + 1 < comp.size()) ++i;
    out.push_back(comp[i]);
  }
  return out;
}

// Expands `{a,b}` alternatives (nested too) into separate patterns. Braces inside a bracket
// expression or escaped are literal; so is a '}' without an opening '{'.
bool expand_braces(const std::string& pattern, std::vector<std::string>& out, std::string& why) {
  size_t open = kNpos;
  std::vector<size_t> commas;
  size_t close = kNpos;
  int depth = 0;
  for (size_t i = 0; i < pattern.size() && close == kNpos; ++i) {
    char c = pattern[i];
    if (c == '\\') {
      ++i;
    } else if (c == '[') {
      size_t e = bracket_end(pattern, i);
      if (e != kNpos) i = e - 1;
    } else if (c == '{') {
      if (depth++ == 0) open = i;
    } else if (c == '}' && depth > 0) {
      if (--depth == 0) close = i;
    } else if (c == ',' && depth == 1) {
      commas.push_back(i);
    }
  }
  if (open == kNpos) {
    if (out.size() >= kMaxAlternatives) {
      why = "more than " + std::to_string(kMaxAlternatives) + " brace alternatives";
      return false;
    }
    out.push_back(pattern);
    return true;
  }
  if (close == kNpos) {
    why = "unclosed '{'";
    return false;
  }
  std::string prefix = pattern.substr(0, open);
  std::string suffix = pattern.substr(close + 1);
  size_t start = open + 1;
  commas.push_back(close);
  for (size_t comma : commas) {
    std::string alt = prefix;
    alt.append(pattern, start, comma - start);
    alt += suffix;
    if (!expand_braces(alt, out, why)) return false;
    start = comma + 1;
  }
  return true;
}

// Path components without empty and "." ones ("a//./b" is "a/b"); ".." is kept as a name, since
// resolving it lexically would be wrong across symlinks.
void split_components(std::string_view path, std::vector<std::string_view>& out) {
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == kNpos) j = path.size();
    std::string_view comp = path.substr(i, j - i);
    if (!comp.empty() && comp != ".") out.push_back(comp);
    i = j + 1;
  }
}

bool compile_segment(std::string_view comp, Segment& seg, std::string& why) {
  if (comp == "**") {
    seg.kind = Kind::kGlobstar;
    return true;
  }
  for (size_t i = 0; i < comp.size(); ++i) {
    if (comp[i] == '\\') {
      if (++i == comp.size()) {
        why = "trailing '\\'";
        return false;
      }
    } else if (comp[i] == '[') {
      size_t e = bracket_end(comp, i);
      if (e == kNpos) {
        why = "unclosed '['";
        return false;
      }
      i = e - 1;
    }
  }
  if (has_meta(comp)) {
    seg.kind = Kind::kGlob;
    seg.text = std::string(comp);
  } else {
    seg.kind = Kind::kLiteral;
    seg.text = unescape(comp);
  }
  return true;
}

// One brace-free pattern → segments. `basename_only` patterns are a single component.
bool compile_pattern(const std::string& expanded, const std::string& cwd, bool basename_only,
                     Pattern& out, std::string& why) {
  if (expanded.empty()) {
    why = "empty pattern";
    return false;
  }
  if (expanded.back() == '/') {
    why = "ends with '/' (a pattern must match files, not directories)";
    return false;
  }
  std::string absolute;
  if (!basename_only && expanded.front() != '/') {
    if (cwd.empty()) {
      why = "relative pattern, and the working directory is unknown";
      return false;
    }
    absolute = cwd + "/" + expanded;
  } else {
    absolute = expanded;
  }
  std::vector<std::string_view> comps;
  split_components(absolute, comps);
  if (comps.empty()) {
    why = "no file name component";
    return false;
  }
  for (std::string_view comp : comps) {
    Segment seg;
    if (!compile_segment(comp, seg, why)) return false;
    // `a/**/**/b` is `a/**/b`; the matcher relies on no two globstars being adjacent.
    if (seg.kind == Kind::kGlobstar && !out.segments.empty() &&
        out.segments.back().kind == Kind::kGlobstar) {
      continue;
    }
    out.segments.push_back(std::move(seg));
  }
  if (out.segments.size() > kMaxSegments) {
    why = "more than " + std::to_string(kMaxSegments) + " path components";
    return false;
  }
  out.basename_only = basename_only;
  // The walk starts at the longest literal directory prefix; the last segment is never part of
  // it, so even a fully literal pattern names a directory plus a file.
  size_t first = 0;
  while (first + 1 < out.segments.size() && out.segments[first].kind == Kind::kLiteral) ++first;
  out.first = first;
  out.root = "/";
  for (size_t i = 0; i < first; ++i) {
    if (i) out.root += '/';
    out.root += out.segments[i].text;
  }
  return true;
}

bool compile_list(const std::vector<std::string>& patterns, const std::string& cwd, bool exclude,
                  std::vector<Pattern>& out, std::string* error) {
  for (const std::string& source : patterns) {
    std::vector<std::string> alternatives;
    std::string why;
    bool ok = expand_braces(source, alternatives, why);
    for (size_t i = 0; ok && i < alternatives.size(); ++i) {
      Pattern p;
      p.source = source;
      bool basename_only = exclude && alternatives[i].find('/') == std::string::npos;
      ok = compile_pattern(alternatives[i], cwd, basename_only, p, why);
      if (ok) out.push_back(std::move(p));
    }
    if (!ok) {
      if (error) {
        *error = std::string("invalid ") + (exclude ? "exclude" : "include") + " path pattern \"";
        *error += source;
        *error += "\": ";
        *error += why;
      }
      return false;
    }
  }
  return true;
}

// ---- Matching: the live positions in a pattern are a bitmask (bit n = fully matched). ----

uint64_t bit(size_t i) { return uint64_t{1} << i; }

uint64_t globstar_mask(const Pattern& p) {
  uint64_t mask = 0;
  for (size_t i = 0; i < p.segments.size(); ++i) {
    if (p.segments[i].kind == Kind::kGlobstar) mask |= bit(i);
  }
  return mask;
}

// A globstar may match zero components: its position also stands for the one after it.
uint64_t closure(uint64_t states, uint64_t globstars) {
  return states | ((states & globstars) << 1);
}

// Positions reached from `states` by consuming the component `name`.
uint64_t step(const Pattern& p, uint64_t states, std::string_view name) {
  uint64_t next = 0;
  const size_t n = p.segments.size();
  for (uint64_t s = states & (bit(n) - 1); s != 0; s &= s - 1) {
    auto i = static_cast<size_t>(__builtin_ctzll(s));
    const Segment& seg = p.segments[i];
    switch (seg.kind) {
      case Kind::kGlobstar:
        next |= bit(i);
        break;
      case Kind::kLiteral:
        if (seg.text == name) next |= bit(i + 1);
        break;
      case Kind::kGlob:
        if (glob_match_component(seg.text, name)) next |= bit(i + 1);
        break;
    }
  }
  return next;
}

bool match_components(const Pattern& p, const std::vector<std::string_view>& comps) {
  const uint64_t globstars = globstar_mask(p);
  uint64_t states = closure(1, globstars);
  for (std::string_view comp : comps) {
    states = closure(step(p, states, comp), globstars);
    if (states == 0) return false;
  }
  return (states & bit(p.segments.size())) != 0;
}

std::string join(const std::string& dir, std::string_view name) {
  std::string path;
  path.reserve(dir.size() + 1 + name.size());
  path = dir;
  if (path.back() != '/') path += '/';
  path += name;
  return path;
}

std::string errno_text(int err) { return std::strerror(err); }

// Expected when a path vanishes or a component is not a directory: not worth reporting.
bool quiet_errno(int err) { return err == ENOENT || err == ENOTDIR; }

// One scan of one pattern. Directories are entered depth-first, each directory's handle closed
// before descending, so open descriptors do not grow with depth.
class Walker {
 public:
  Walker(const Pattern& pattern, std::vector<std::string>* files, std::vector<std::string>* dirs,
         std::vector<std::string>* errors, size_t& dirs_visited)
      : p_(pattern),
        n_(pattern.segments.size()),
        globstars_(globstar_mask(pattern)),
        files_(files),
        dirs_(dirs),
        errors_(errors),
        dirs_visited_(dirs_visited) {
    for (size_t i = 0; i < n_; ++i) {
      if (pattern.segments[i].kind != Kind::kLiteral) wild_ |= bit(i);
    }
  }

  void run() {
    struct stat st {};
    if (::stat(p_.root.c_str(), &st) != 0) {
      const int err = errno;
      if (!quiet_errno(err)) error("cannot access directory " + p_.root + ": " + errno_text(err));
      if (dirs_) watch_existing_ancestor();
      return;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (dirs_) watch_existing_ancestor();
      return;
    }
    visit(p_.root, closure(bit(p_.first), globstars_), st, 0);
  }

 private:
  void error(std::string message) {
    if (errors_) errors_->push_back(std::move(message));
  }

  // The root is missing: watch the deepest ancestor that exists, to see it being created.
  void watch_existing_ancestor() {
    std::string dir = p_.root;
    while (dir.size() > 1) {
      dir.resize(std::max<size_t>(dir.rfind('/'), 1));
      struct stat st {};
      if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) break;
    }
    dirs_->push_back(dir);
  }

  void visit(const std::string& dir, uint64_t states, const struct stat& st, size_t depth) {
    if (++dirs_visited_ > kMaxDirsPerScan) {
      if (dirs_visited_ == kMaxDirsPerScan + 1) {
        error("stopped scanning at " + std::to_string(kMaxDirsPerScan) +
              " directories (pattern \"" + p_.source + "\" is too broad)");
      }
      return;
    }
    if (dirs_) dirs_->push_back(dir);
    chain_.emplace_back(st.st_dev, st.st_ino);
    const uint64_t live = states & (bit(n_) - 1);
    std::vector<std::pair<std::string, uint64_t>> subdirs;
    if ((live & wild_) == 0) {
      // Only literal names can follow: stat them instead of listing a possibly large directory.
      std::vector<std::string_view> tried;
      for (uint64_t s = live; s != 0; s &= s - 1) {
        std::string_view name = p_.segments[__builtin_ctzll(s)].text;
        if (std::find(tried.begin(), tried.end(), name) != tried.end()) continue;
        tried.push_back(name);
        consider(dir, name, DT_UNKNOWN, states, subdirs);
      }
    } else if (DIR* d = ::opendir(dir.c_str())) {
      while (const dirent* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        if (name == "." || name == "..") continue;
        consider(dir, name, e->d_type, states, subdirs);
      }
      ::closedir(d);
    } else if (const int err = errno; !quiet_errno(err)) {
      error("cannot read directory " + dir + ": " + errno_text(err));
    }
    for (auto& [path, next] : subdirs) descend(path, next, depth + 1);
    chain_.pop_back();
  }

  void consider(const std::string& dir, std::string_view name, unsigned char type, uint64_t states,
                std::vector<std::pair<std::string, uint64_t>>& subdirs) {
    const uint64_t next = closure(step(p_, states, name), globstars_);
    if (next == 0) return;
    const bool want_file = (next & bit(n_)) != 0;
    const bool want_dir = (next & (bit(n_) - 1)) != 0;
    if (type == DT_REG && !want_file) return;
    if (type == DT_DIR && !want_dir) return;
    std::string path = join(dir, name);
    if (type != DT_REG && type != DT_DIR) {
      // Symlinks (followed: /var/log/containers/*.log are links) and file systems without
      // d_type. A dangling link is simply not a file.
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) {
        // A symlink loop is as broken as a dangling link, and as common in /var/log: silent.
        if (const int err = errno; !quiet_errno(err) && err != ELOOP) {
          error("cannot stat " + path + ": " + errno_text(err));
        }
        return;
      }
      if (S_ISREG(st.st_mode)) {
        type = DT_REG;
      } else if (S_ISDIR(st.st_mode)) {
        type = DT_DIR;
      } else {
        return;
      }
    }
    if (type == DT_REG && want_file) {
      files_->push_back(std::move(path));
    } else if (type == DT_DIR && want_dir) {
      subdirs.emplace_back(std::move(path), next);
    }
  }

  void descend(const std::string& dir, uint64_t states, size_t depth) {
    if (depth > kMaxDepth) return;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
    // A directory that is its own ancestor is reached through a symlink loop.
    for (const auto& [dev, ino] : chain_) {
      if (dev == st.st_dev && ino == st.st_ino) return;
    }
    visit(dir, states, st, depth);
  }

  const Pattern& p_;
  const size_t n_;
  const uint64_t globstars_;
  uint64_t wild_ = 0;
  std::vector<std::string>* files_;
  std::vector<std::string>* dirs_;
  std::vector<std::string>* errors_;
  size_t& dirs_visited_;
  std::vector<std::pair<dev_t, ino_t>> chain_;
};

void sort_unique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

bool glob_match_component(std::string_view p, std::string_view s) {
  size_t pi = 0;
  size_t si = 0;
  // Where to resume after the last `*`: one backtrack point suffices for a single component
  // (the classic linear-space wildcard algorithm).
  size_t star_p = kNpos;
  size_t star_s = 0;
  while (si < s.size()) {
    bool advanced = false;
    if (pi < p.size()) {
      const char c = p[pi];
      if (c == '*') {
        star_p = ++pi;
        star_s = si;
        continue;
      }
      if (c == '?') {
        ++pi;
        ++si;
        continue;
      }
      if (c == '[') {
        size_t e = bracket_end(p, pi);
        if (e != kNpos) {
          if (bracket_match(p.substr(pi, e - pi), static_cast<unsigned char>(s[si]))) {
            pi = e;
            ++si;
            advanced = true;
          }
        } else if (s[si] == '[') {  // unclosed: a literal '['
          ++pi;
          ++si;
          advanced = true;
        }
      } else if (c == '\\' && pi + 1 < p.size()) {
        if (p[pi + 1] == s[si]) {
          pi += 2;
          ++si;
          advanced = true;
        }
      } else if (c == s[si]) {
        ++pi;
        ++si;
        advanced = true;
      }
    }
    if (advanced) continue;
    if (star_p == kNpos) return false;
    pi = star_p;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::unique_ptr<PathMatcher> PathMatcher::create(const std::vector<std::string>& include,
                                                 const std::vector<std::string>& exclude,
                                                 std::string* error) {
  std::unique_ptr<PathMatcher> m(new PathMatcher());
  if (include.empty()) {
    if (error) *error = "no include path pattern";
    return nullptr;
  }
  char buf[4096];
  if (::getcwd(buf, sizeof buf)) m->cwd_ = buf;
  if (!compile_list(include, m->cwd_, false, m->include_, error)) return nullptr;
  if (!compile_list(exclude, m->cwd_, true, m->exclude_, error)) return nullptr;
  return m;
}

bool PathMatcher::excluded(std::string_view abs_path) const {
  std::vector<std::string_view> comps;
  split_components(abs_path, comps);
  if (comps.empty()) return false;
  const std::vector<std::string_view> base{comps.back()};
  for (const Pattern& p : exclude_) {
    if (match_components(p, p.basename_only ? base : comps)) return true;
  }
  return false;
}

bool PathMatcher::matches(std::string_view path) const {
  std::string absolute;
  if (!path.empty() && path.front() != '/') {
    absolute = cwd_ + "/";
  }
  absolute += path;
  std::vector<std::string_view> comps;
  split_components(absolute, comps);
  if (comps.empty()) return false;
  bool included = false;
  for (const Pattern& p : include_) {
    if (match_components(p, comps)) {
      included = true;
      break;
    }
  }
  return included && !excluded(absolute);
}

void PathMatcher::walk(std::vector<std::string>* files, std::vector<std::string>* dirs,
                       std::vector<std::string>* errors) const {
  size_t dirs_visited = 0;
  std::vector<std::string> found;
  for (const Pattern& p : include_) Walker(p, &found, dirs, errors, dirs_visited).run();
  if (files) {
    for (std::string& f : found) {
      if (!excluded(f)) files->push_back(std::move(f));
    }
    sort_unique(*files);
  }
  if (dirs) sort_unique(*dirs);
  if (errors) sort_unique(*errors);
}

std::vector<std::string> PathMatcher::scan(std::vector<std::string>* errors) const {
  std::vector<std::string> files;
  walk(&files, nullptr, errors);
  return files;
}

std::vector<std::string> PathMatcher::watch_dirs() const {
  std::vector<std::string> dirs;
  walk(nullptr, &dirs, nullptr);
  return dirs;
}

}  // namespace sluice
