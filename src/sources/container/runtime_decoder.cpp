#include "sources/container/runtime_decoder.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "parse/timestamp.hpp"

namespace sluice {

namespace {

constexpr int kMaxJsonDepth = 64;

size_t slot(StreamId stream) { return static_cast<size_t>(stream); }

// Moves a cut at `n` back over UTF-8 continuation bytes (at most 3, never to 0) so a character
// is not broken in two, as the framer does; keeps the cut when the text is not UTF-8 anyway.
// data[n] must be readable.
size_t utf8_cut(const char* data, size_t n) {
  for (size_t back = 0; back < 4 && back < n; ++back) {
    auto c = static_cast<unsigned char>(data[n - back]);
    if ((c & 0xC0) != 0x80) return n - back;
  }
  return n;
}

// ---- Docker json-file ------------------------------------------------------------------------
// A hand-rolled scanner rather than a JSON library: a record is one small flat object whose
// only big value is a string we copy out anyway, so one pass over the bytes with memchr is all
// the work there is, and no DOM or tape is built per record.

const char* skip_ws(const char* p, const char* end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) ++p;
  return p;
}

// `p` points just after an opening quote; returns the closing quote, or nullptr.
const char* string_end(const char* p, const char* end) {
  while (p < end) {
    const auto* q = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
    if (q == nullptr) return nullptr;
    // An odd run of backslashes before the quote escapes it. Each run is counted once: the scan
    // resumes after the quote.
    const char* b = q;
    while (b > p && b[-1] == '\\') --b;
    if (((q - b) & 1) == 0) return q;
    p = q + 1;
  }
  return nullptr;
}

bool scalar_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' || c == '.' ||
         c == 'E';
}

// Skips one JSON value ("attrs" and keys we do not know); nullptr when it is not one.
const char* skip_value(const char* p, const char* end, int depth) {
  if (p >= end || depth > kMaxJsonDepth) return nullptr;
  const char open = *p;
  if (open == '"') {
    const char* q = string_end(p + 1, end);
    return q == nullptr ? nullptr : q + 1;
  }
  if (open == '{' || open == '[') {
    const char close = open == '{' ? '}' : ']';
    p = skip_ws(p + 1, end);
    if (p < end && *p == close) return p + 1;
    while (true) {
      if (open == '{') {
        if (p >= end || *p != '"') return nullptr;
        const char* q = string_end(p + 1, end);
        if (q == nullptr) return nullptr;
        p = skip_ws(q + 1, end);
        if (p >= end || *p != ':') return nullptr;
        p = skip_ws(p + 1, end);
      }
      p = skip_value(p, end, depth + 1);
      if (p == nullptr) return nullptr;
      p = skip_ws(p, end);
      if (p >= end) return nullptr;
      if (*p == close) return p + 1;
      if (*p != ',') return nullptr;
      p = skip_ws(p + 1, end);
    }
  }
  // Numbers, true, false, null: the record is only skipped over, so a loose check is enough.
  const char* start = p;
  while (p < end && scalar_char(*p)) ++p;
  if (p == start) return nullptr;
  const char first = *start;
  if (first == '-' || (first >= '0' && first <= '9')) return p;
  const std::string_view word(start, static_cast<size_t>(p - start));
  return (word == "true" || word == "false" || word == "null") ? p : nullptr;
}

struct DockerRecord {
  std::string_view log;  // raw, still escaped
  std::string_view time;
  StreamId stream = StreamId::FromBatch;
};

bool scan_docker(std::string_view line, DockerRecord& rec) {
  const char* end = line.data() + line.size();
  const char* p = skip_ws(line.data(), end);
  if (p >= end || *p != '{') return false;
  p = skip_ws(p + 1, end);
  bool have_log = false;
  while (true) {
    if (p >= end || *p != '"') return false;
    const char* key_begin = p + 1;
    const char* key_end = string_end(key_begin, end);
    if (key_end == nullptr) return false;
    const std::string_view key(key_begin, static_cast<size_t>(key_end - key_begin));
    p = skip_ws(key_end + 1, end);
    if (p >= end || *p != ':') return false;
    p = skip_ws(p + 1, end);
    // Keys are compared as written: Docker never escapes its own key names.
    std::string_view* text = nullptr;
    std::string_view stream;
    if (key == "log") {
      text = &rec.log;
    } else if (key == "time") {
      text = &rec.time;
    } else if (key == "stream") {
      text = &stream;
    }
    if (text != nullptr && p < end && *p == '"') {
      const char* q = string_end(p + 1, end);
      if (q == nullptr) return false;
      *text = std::string_view(p + 1, static_cast<size_t>(q - p - 1));
      if (text == &rec.log) have_log = true;
      if (text == &stream) {
        rec.stream = stream == "stdout"   ? StreamId::Stdout
                     : stream == "stderr" ? StreamId::Stderr
                                          : StreamId::FromBatch;
      }
      p = q + 1;
    } else {
      // "log" must be a string; anything else under our keys is skipped like unknown keys.
      if (text == &rec.log) return false;
      p = skip_value(p, end, 1);
      if (p == nullptr) return false;
    }
    p = skip_ws(p, end);
    if (p >= end) return false;
    if (*p == '}') break;
    if (*p != ',') return false;
    p = skip_ws(p + 1, end);
  }
  return have_log && skip_ws(p + 1, end) == end;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The code unit of `\uXXXX` at `p` (pointing at the backslash), or -1.
int32_t unicode_escape(const char* p, const char* end) {
  if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return -1;
  int32_t v = 0;
  for (int i = 2; i < 6; ++i) {
    const int h = hex_value(p[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

char* put_utf8(uint32_t cp, char* d) {
  if (cp < 0x80) {
    *d++ = static_cast<char>(cp);
  } else if (cp < 0x800) {
    *d++ = static_cast<char>(0xC0 | (cp >> 6));
    *d++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *d++ = static_cast<char>(0xE0 | (cp >> 12));
    *d++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *d++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *d++ = static_cast<char>(0xF0 | (cp >> 18));
    *d++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *d++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *d++ = static_cast<char>(0x80 | (cp & 0x3F));
  }
  return d;
}

// Unescapes a JSON string body into `dst`, which has room for src.size() bytes: no escape
// decodes to more bytes than it is written with. An invalid escape (unknown letter, bad hex, a
// lone surrogate) is kept as written, so no byte of the application's text is lost; `bad`
// counts them.
size_t unescape(std::string_view src, char* dst, size_t& bad) {
  const char* s = src.data();
  const char* end = s + src.size();
  char* d = dst;
  while (s < end) {
    const auto* bs = static_cast<const char*>(std::memchr(s, '\\', static_cast<size_t>(end - s)));
    const char* stop = bs == nullptr ? end : bs;
    std::memcpy(d, s, static_cast<size_t>(stop - s));
    d += stop - s;
    s = stop;
    if (s == end) break;
    const char c = s + 1 < end ? s[1] : '\0';
    char simple = 0;
    switch (c) {
      case '"':
      case '\\':
      case '/':
        simple = c;
        break;
      case 'b':
        simple = '\b';
        break;
      case 'f':
        simple = '\f';
        break;
      case 'n':
        simple = '\n';
        break;
      case 'r':
        simple = '\r';
        break;
      case 't':
        simple = '\t';
        break;
      case 'u': {
        const int32_t unit = unicode_escape(s, end);
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          const int32_t low = unicode_escape(s + 6, end);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            const auto cp =
                static_cast<uint32_t>(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
            d = put_utf8(cp, d);
            s += 12;
            continue;
          }
        } else if (unit >= 0 && (unit < 0xDC00 || unit > 0xDFFF)) {
          d = put_utf8(static_cast<uint32_t>(unit), d);
          s += 6;
          continue;
        }
        break;
      }
      default:
        break;
    }
    if (simple != 0) {
      *d++ = simple;
      s += 2;
      continue;
    }
    // Invalid: copy the backslash; what follows is copied as ordinary text.
    *d++ = '\\';
    ++s;
    ++bad;
  }
  return static_cast<size_t>(d - dst);
}

// A Docker record cut by the framer is reassembled up to this size: room for dockerd's 16 KiB
// chunks even when every byte was escaped as \u00XX, and for any line max_line_bytes allows.
size_t docker_record_limit(size_t max_line_bytes) { return 2 * max_line_bytes + (128u << 10); }

// ---- CRI -------------------------------------------------------------------------------------

struct CriRecord {
  int64_t time_ns = 0;
  StreamId stream = StreamId::FromBatch;
  bool partial = false;
  std::string_view message;
};

// `<time> <stream> <tag> <message>`, split on the first three spaces as kubelet does; the
// message may be empty (and then the third space may be missing).
bool parse_cri(std::string_view line, CriRecord& rec) {
  const size_t sp1 = line.find(' ');
  // The shortest RFC 3339 time is `2006-01-02T15:04:05Z`; the fixed positions keep plain text
  // that merely starts with a number from being taken for a record.
  if (sp1 == std::string_view::npos || sp1 < 20) return false;
  const std::string_view time = line.substr(0, sp1);
  if (time[4] != '-' || time[7] != '-' || (time[10] != 'T' && time[10] != 't')) return false;
  const std::optional<int64_t> ns = parse_timestamp(time, TimestampContext{});
  if (!ns) return false;
  rec.time_ns = *ns;

  std::string_view rest = line.substr(sp1 + 1);
  if (rest.size() < 7 || rest[6] != ' ') return false;
  const std::string_view stream = rest.substr(0, 6);
  if (stream == "stdout") {
    rec.stream = StreamId::Stdout;
  } else if (stream == "stderr") {
    rec.stream = StreamId::Stderr;
  } else {
    return false;
  }
  rest.remove_prefix(7);
  const size_t sp3 = rest.find(' ');
  const std::string_view tag = rest.substr(0, sp3);
  if (tag.empty()) return false;
  // Tags are `:`-separated for forward compatibility; only the first one says partial or full.
  rec.partial = tag == "P" || tag.starts_with("P:");
  rec.message = sp3 == std::string_view::npos ? std::string_view() : rest.substr(sp3 + 1);
  return true;
}

// Writes `text` just past the end of out.bytes (room was reserved) without committing it.
void place(Batch& out, std::string_view text) {
  // memcpy from a null pointer is undefined even for 0 bytes; empty views may be null.
  if (!text.empty()) {
    std::memcpy(out.bytes.data() + out.bytes.size(), text.data(), text.size());
  }
}

// Re-points views into a buffer that moved.
void rebase(std::string_view& view, uintptr_t old_begin, size_t old_size, const char* now) {
  const auto at = reinterpret_cast<uintptr_t>(view.data());
  if (view.data() == nullptr || at < old_begin || at > old_begin + old_size) return;
  view = std::string_view(now + (at - old_begin), view.size());
}

// Gives out.bytes room for `need` bytes without moving it again during this call, so the views
// of the events emitted meanwhile stay valid; views made earlier are re-pointed.
void ensure_capacity(Batch& out, size_t need) {
  if (out.bytes.capacity() >= need) return;
  const auto old_begin = reinterpret_cast<uintptr_t>(out.bytes.data());
  const size_t old_size = out.bytes.size();
  out.bytes.reserve(need);
  const char* now = out.bytes.data();
  for (Event& e : out.events) rebase(e.line, old_begin, old_size, now);
  for (Field& f : out.fields) {
    rebase(f.key, old_begin, old_size, now);
    rebase(f.value.text, old_begin, old_size, now);
  }
}

}  // namespace

RuntimeDecoder::RuntimeDecoder(size_t max_line_bytes)
    : max_line_bytes_(std::max<size_t>(max_line_bytes, 1)) {}

bool RuntimeDecoder::has_pending() const {
  return open_.kind == OpenKind::Docker ||
         std::any_of(partials_.begin(), partials_.end(), [](const Partial& p) { return p.active; });
}

uint64_t RuntimeDecoder::pending_offset() const {
  uint64_t offset =
      open_.kind == OpenKind::Docker ? open_.stamp.offset : std::numeric_limits<uint64_t>::max();
  for (const Partial& p : partials_) {
    if (p.active) offset = std::min(offset, p.stamp.offset);
  }
  return offset;
}

size_t RuntimeDecoder::pending_bytes() const {
  size_t n = open_.kind == OpenKind::Docker ? docker_record_.size() : 0;
  for (const Partial& p : partials_) n += p.active ? p.bytes.size() : 0;
  return n;
}

void RuntimeDecoder::decode(const Batch& in, Batch& out) {
  // Every line is at most its records' bytes plus what was kept from earlier batches: no
  // escape decodes longer than written, and a CRI message is part of its record.
  size_t need = out.bytes.size() + pending_bytes() + kReadPadding;
  for (const Event& e : in.events) need += e.line.size();
  ensure_capacity(out, need);
  for (const Event& e : in.events) record(e, in.read_time_ns, out);
}

void RuntimeDecoder::record(const Event& e, int64_t read_time_ns, Batch& out) {
  const bool piece = (e.flags & kFlagSplit) != 0;
  const bool continues = piece && open_.kind != OpenKind::None &&
                         (e.offset == last_offset_ || e.offset == last_offset_ + last_size_);
  if (!continues) close_open(out);
  last_offset_ = e.offset;
  last_size_ = e.line.size();
  const Stamp read_stamp{e.offset, read_time_ns};

  if (continues) {
    switch (open_.kind) {
      case OpenKind::Cri:
        place(out, e.line);
        take(out, e.line.size(), open_.stream, open_.stamp, false, false);
        return;
      case OpenKind::Docker:
        if (docker_record_.size() + e.line.size() <= docker_record_limit(max_line_bytes_)) {
          docker_record_.append(e.line);
          return;
        }
        // Longer than any record dockerd writes: not worth the memory, passed on raw.
        ++malformed_;
        emit_raw(out, docker_record_.view(), open_.stamp, kFlagParseError | kFlagSplit);
        docker_record_.clear();
        open_.kind = OpenKind::Raw;
        break;
      case OpenKind::Raw:
      case OpenKind::None:
        break;
    }
    emit_raw(out, e.line, Stamp{open_.stamp.offset, read_time_ns}, kFlagParseError | kFlagSplit);
    return;
  }

  const char* first =
      std::find_if(e.line.begin(), e.line.end(), [](char c) { return c != ' ' && c != '\t'; });
  const bool json = first != e.line.end() && *first == '{';
  if (piece && json) {
    open_ = OpenRecord{OpenKind::Docker, StreamId::FromBatch, false, read_stamp};
    docker_record_.clear();
    docker_record_.append(e.line);
    return;
  }
  if (!piece && json) {
    docker_line(out, e.line, e.offset, read_time_ns);
    return;
  }
  CriRecord cri;
  if (parse_cri(e.line, cri)) {
    place(out, cri.message);
    const Stamp stamp{e.offset, cri.time_ns};
    if (piece) {
      // The rest of the message comes in the next pieces; whether the line ends with this
      // record is decided when the record is closed.
      open_ = OpenRecord{OpenKind::Cri, cri.stream, cri.partial, stamp};
      take(out, cri.message.size(), cri.stream, stamp, false);
    } else {
      take(out, cri.message.size(), cri.stream, stamp, !cri.partial);
    }
    return;
  }
  ++malformed_;
  if (piece) open_ = OpenRecord{OpenKind::Raw, StreamId::FromBatch, false, read_stamp};
  emit_raw(out, e.line, read_stamp, piece ? kFlagParseError | kFlagSplit : kFlagParseError);
}

void RuntimeDecoder::docker_line(Batch& out, std::string_view record, uint64_t offset,
                                 int64_t read_time_ns) {
  DockerRecord docker;
  if (!scan_docker(record, docker)) {
    ++malformed_;
    emit_raw(out, record, Stamp{offset, read_time_ns}, kFlagParseError);
    return;
  }
  size_t bad = 0;
  char* dst = out.bytes.data() + out.bytes.size();
  size_t n = unescape(docker.log, dst, bad);
  if (bad != 0) ++invalid_escapes_;
  const bool ends_line = n > 0 && dst[n - 1] == '\n';
  if (ends_line) n -= (n > 1 && dst[n - 2] == '\r') ? 2 : 1;
  std::optional<int64_t> time;
  if (!docker.time.empty()) time = parse_timestamp(docker.time, TimestampContext{});
  take(out, n, docker.stream, Stamp{offset, time.value_or(read_time_ns)}, ends_line);
}

void RuntimeDecoder::close_open(Batch& out) {
  const OpenRecord open = open_;
  open_ = OpenRecord{};
  if (open.kind == OpenKind::Docker) {
    docker_line(out, docker_record_.view(), open.stamp.offset, open.stamp.time_ns);
    docker_record_.clear();
    return;
  }
  // A full CRI record cut by the framer ends its line here; a partial one leaves it kept.
  if (open.kind == OpenKind::Cri && !open.partial)
    take(out, 0, open.stream, open.stamp, true, false);
}

void RuntimeDecoder::take(Batch& out, size_t n, StreamId stream, Stamp stamp, bool ends_line,
                          bool new_record) {
  Partial& p = partials_[slot(stream)];
  const size_t pos = out.bytes.size();
  char* base = out.bytes.data();
  if (!p.active) {
    if (ends_line) {
      emit(out, pos, n, stream, stamp, stamp, 0);
      return;
    }
    p.active = true;
    p.stamp = stamp;
    p.records = 0;
    p.cut = false;
    p.bytes.clear();
  }
  if (new_record) ++p.records;
  if (ends_line) {
    // The kept start goes in front of this record's text, which is already in place.
    const size_t kept = p.bytes.size();
    if (kept != 0) {
      std::memmove(base + pos + kept, base + pos, n);
      std::memcpy(base + pos, p.bytes.data(), kept);
    }
    if (p.records >= 2) ++joined_;
    p.active = false;
    emit(out, pos, kept + n, stream, p.stamp, stamp, p.cut ? kFlagSplit : 0);
    return;
  }
  // Kept in the decoder's own buffer: `out` leaves with this batch, the line goes on later.
  size_t earlier = p.bytes.size();  // kept bytes from records before this one
  if (n != 0) p.bytes.append(std::string_view(base + pos, n));
  while (p.bytes.size() > max_line_bytes_) {
    const size_t cut = utf8_cut(p.bytes.data(), max_line_bytes_);
    place(out, std::string_view(p.bytes.data(), cut));
    emit(out, out.bytes.size(), cut, stream, p.stamp, p.stamp, kFlagSplit);
    const size_t rest = p.bytes.size() - cut;
    std::memmove(p.bytes.data(), p.bytes.data() + cut, rest);
    p.bytes.resize(rest);
    p.cut = true;
    earlier = earlier > cut ? earlier - cut : 0;
    if (earlier == 0) {
      // What is kept now comes from this record alone, so a checkpoint may pass the records
      // before it.
      p.stamp = stamp;
      p.records = 1;
    }
  }
}

void RuntimeDecoder::emit(Batch& out, size_t pos, size_t n, StreamId stream, Stamp first,
                          Stamp rest, uint16_t flags) {
  out.bytes.commit(n);
  const char* base = out.bytes.data();
  Event event;
  event.stream_id = stream;
  if (n > max_line_bytes_) flags |= kFlagSplit;
  Stamp stamp = first;
  size_t begin = pos;
  const size_t end = pos + n;
  do {
    size_t len = end - begin;
    if (len > max_line_bytes_) len = utf8_cut(base + begin, max_line_bytes_);
    event.line = std::string_view(base + begin, len);
    event.offset = stamp.offset;
    event.timestamp_ns = stamp.time_ns;
    event.flags = flags;
    out.events.push_back(event);
    begin += len;
    stamp = rest;
  } while (begin < end);
}

void RuntimeDecoder::emit_raw(Batch& out, std::string_view text, Stamp stamp, uint16_t flags) {
  place(out, text);
  emit(out, out.bytes.size(), text.size(), StreamId::FromBatch, stamp, stamp, flags);
}

void RuntimeDecoder::flush_pending(Batch& out) {
  ensure_capacity(out, out.bytes.size() + pending_bytes() + kReadPadding);
  close_open(out);
  // Oldest first, so the output keeps the file's order.
  std::array<size_t, 3> order{0, 1, 2};
  std::sort(order.begin(), order.end(), [this](size_t a, size_t b) {
    return partials_[a].stamp.offset < partials_[b].stamp.offset;
  });
  for (size_t i : order) {
    Partial& p = partials_[i];
    if (!p.active) continue;
    place(out, p.bytes.view());
    if (p.records >= 2) ++joined_;
    p.active = false;
    emit(out, out.bytes.size(), p.bytes.size(), static_cast<StreamId>(i), p.stamp, p.stamp,
         p.cut ? kFlagSplit : 0);
    p.bytes.clear();
  }
}

}  // namespace sluice
