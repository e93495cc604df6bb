#include "sources/file/checkpoint_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

#include <simdjson.h>

#include "base/io.hpp"
#include "base/json_writer.hpp"
#include "core/durable_file.hpp"

namespace sluice {

namespace {

// Far beyond any real checkpoint (about 200 bytes per file), and a bound on what a damaged or
// wrong file can make load() allocate.
constexpr size_t kMaxCheckpointBytes = 256u << 20;
constexpr char kHex[] = "0123456789abcdef";

std::string errno_text(int err) { return std::strerror(err); }

void append_u64(ByteBuffer& out, uint64_t v) {
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  out.append({p, static_cast<size_t>(end - p)});
}

void append_i64(ByteBuffer& out, int64_t v) {
  if (v < 0) {
    out.push_back('-');
    append_u64(out, 0 - static_cast<uint64_t>(v));
  } else {
    append_u64(out, static_cast<uint64_t>(v));
  }
}

void append_hex_bytes(ByteBuffer& out, std::string_view bytes) {
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_hex_u64(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d = hex_digit(c);
    if (d < 0) return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  out = v;
  return true;
}

bool parse_hex_bytes(std::string_view s, std::string& out) {
  if (s.size() % 2 != 0) return false;
  out.clear();
  out.reserve(s.size() / 2);
  for (size_t i = 0; i < s.size(); i += 2) {
    int hi = hex_digit(s[i]);
    int lo = hex_digit(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>((hi << 4) | lo));
  }
  return true;
}

bool read_file(int fd, std::string& text, std::string& why) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    why = errno_text(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    why = "not a regular file";
    return false;
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxCheckpointBytes) {
    why = "larger than " + std::to_string(kMaxCheckpointBytes >> 20) + " MiB";
    return false;
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      why = "read error: " + errno_text(errno);
      return false;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxCheckpointBytes) {
      why = "larger than " + std::to_string(kMaxCheckpointBytes >> 20) + " MiB";
      return false;
    }
  }
  return true;
}

using simdjson::dom::element;
using simdjson::dom::object;

// Field readers: false with `why` naming the field and the problem.
bool get_field(object obj, std::string_view key, element& value, std::string& why) {
  if (obj.at_key(key).get(value) != simdjson::SUCCESS) {
    why = "missing \"" + std::string(key) + "\"";
    return false;
  }
  return true;
}

bool get_u64(object obj, std::string_view key, uint64_t& out, std::string& why) {
  element v;
  if (!get_field(obj, key, v, why)) return false;
  if (v.get_uint64().get(out) != simdjson::SUCCESS) {
    why = "\"" + std::string(key) + "\" is not an unsigned integer";
    return false;
  }
  return true;
}

bool get_string(object obj, std::string_view key, std::string_view& out, std::string& why) {
  element v;
  if (!get_field(obj, key, v, why)) return false;
  if (v.get_string().get(out) != simdjson::SUCCESS) {
    why = "\"" + std::string(key) + "\" is not a string";
    return false;
  }
  return true;
}

bool parse_entry(object obj, CheckpointEntry& e, std::string& why) {
  std::string_view path;
  if (!get_string(obj, "path", path, why)) return false;
  element hex;
  if (obj.at_key("path_hex").get(hex) == simdjson::SUCCESS) {
    std::string_view h;
    if (hex.get_string().get(h) != simdjson::SUCCESS || !parse_hex_bytes(h, e.path)) {
      why = "\"path_hex\" is not a string of hex byte pairs";
      return false;
    }
  } else {
    e.path = path;
  }
  uint64_t fp_len = 0;
  std::string_view fp_hash;
  if (!get_u64(obj, "dev", e.id.dev, why) || !get_u64(obj, "ino", e.id.ino, why) ||
      !get_u64(obj, "fp_len", fp_len, why) || !get_string(obj, "fp_hash", fp_hash, why) ||
      !get_u64(obj, "offset", e.offset, why)) {
    return false;
  }
  if (fp_len > kFingerprintBytes) {
    why = "\"fp_len\" is " + std::to_string(fp_len) + ", more than " +
          std::to_string(kFingerprintBytes);
    return false;
  }
  e.id.fp_len = static_cast<uint32_t>(fp_len);
  if (!parse_hex_u64(fp_hash, e.id.fp_hash)) {
    why = "\"fp_hash\" is not 1 to 16 hex digits";
    return false;
  }
  element updated;
  if (!get_field(obj, "updated_unix", updated, why)) return false;
  if (updated.get_int64().get(e.updated_unix) != simdjson::SUCCESS) {
    why = "\"updated_unix\" is not an integer";
    return false;
  }
  return true;
}

}  // namespace

size_t prune_checkpoints(std::vector<CheckpointEntry>& entries, int64_t now_unix,
                         int64_t max_age_seconds) {
  const size_t before = entries.size();
  std::erase_if(entries, [&](const CheckpointEntry& e) {
    return e.updated_unix < now_unix && now_unix - e.updated_unix > max_age_seconds;
  });
  return before - entries.size();
}

void encode_checkpoints(const std::vector<CheckpointEntry>& entries, ByteBuffer& out) {
  out.append("{\"version\":");
  append_i64(out, kCheckpointFormatVersion);
  out.append(",\"files\":[\n");
  for (size_t i = 0; i < entries.size(); ++i) {
    const CheckpointEntry& e = entries[i];
    // One entry per line: readable, and a diff between two checkpoints is meaningful.
    out.append("{\"path\":");
    const bool utf8 = is_valid_utf8(e.path);
    append_json_string(out, e.path, utf8);
    if (!utf8) {
      out.append(",\"path_hex\":\"");
      append_hex_bytes(out, e.path);
      out.push_back('"');
    }
    out.append(",\"dev\":");
    append_u64(out, e.id.dev);
    out.append(",\"ino\":");
    append_u64(out, e.id.ino);
    out.append(",\"fp_len\":");
    append_u64(out, e.id.fp_len);
    out.append(",\"fp_hash\":\"");
    for (int shift = 60; shift >= 0; shift -= 4) out.push_back(kHex[(e.id.fp_hash >> shift) & 0xF]);
    out.append("\",\"offset\":");
    append_u64(out, e.offset);
    out.append(",\"updated_unix\":");
    append_i64(out, e.updated_unix);
    out.append(i + 1 < entries.size() ? "},\n" : "}\n");
  }
  out.append("]}\n");
}

bool parse_checkpoints(std::string_view json, std::vector<CheckpointEntry>* entries,
                       std::string* error) {
  entries->clear();
  auto fail = [&](std::string why) {
    entries->clear();
    *error = std::move(why);
    return false;
  };
  if (json.empty()) return fail("empty file");
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(json);
  element root;
  if (auto err = parser.parse(padded).get(root); err != simdjson::SUCCESS) {
    return fail(std::string("not valid JSON (") + simdjson::error_message(err) + ")");
  }
  object top;
  if (root.get_object().get(top) != simdjson::SUCCESS) return fail("not a JSON object");
  std::string why;
  element version;
  if (!get_field(top, "version", version, why)) return fail(why);
  int64_t v = 0;
  if (version.get_int64().get(v) != simdjson::SUCCESS) return fail("\"version\" is not an integer");
  if (v != kCheckpointFormatVersion) {
    return fail("unsupported version " + std::to_string(v) + " (this sluice reads version " +
                std::to_string(kCheckpointFormatVersion) + ")");
  }
  element files;
  if (!get_field(top, "files", files, why)) return fail(why);
  simdjson::dom::array list;
  if (files.get_array().get(list) != simdjson::SUCCESS) return fail("\"files\" is not an array");
  entries->reserve(list.size());
  size_t index = 0;
  for (element item : list) {
    const std::string where = "files[" + std::to_string(index++) + "]";
    object obj;
    if (item.get_object().get(obj) != simdjson::SUCCESS) return fail(where + " is not an object");
    CheckpointEntry e;
    if (!parse_entry(obj, e, why)) return fail(where + ": " += why);
    entries->push_back(std::move(e));
  }
  return true;
}

CheckpointStore::CheckpointStore(std::string data_dir, const std::string& source_name)
    : dir_(std::move(data_dir)) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  dir_ += dir_ == "/" ? "checkpoints" : "/checkpoints";
  path_ = dir_ + "/" + component_file_name(source_name) + ".json";
}

bool CheckpointStore::load(std::vector<CheckpointEntry>* entries, std::string* error) {
  entries->clear();
  // O_NONBLOCK: a FIFO (or a device) at the checkpoint's path would otherwise block the open
  // until some writer appeared, and sluice would hang at start; read_file() refuses anything
  // but a regular file, and for those the flag changes nothing.
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0 && errno == ENOENT) return true;
  std::string why;
  std::string text;
  if (fd < 0) {
    why = "cannot open: " + errno_text(errno);
  } else {
    const bool read_ok = read_file(fd, text, why);
    ::close(fd);
    if (read_ok) {
      std::string parse_error;
      if (parse_checkpoints(text, entries, &parse_error)) return true;
      why = std::move(parse_error);
    }
  }
  // Keep the bad file for inspection, out of the way of the next save().
  const std::string base = path_ + ".corrupt-" + std::to_string(::time(nullptr));
  std::string aside = base;
  for (int i = 1; i < 1000; ++i) {
    struct stat st {};
    if (::lstat(aside.c_str(), &st) != 0) break;
    aside = base + "-" + std::to_string(i);
  }
  if (::rename(path_.c_str(), aside.c_str()) == 0) {
    *error =
        "checkpoint file " + path_ + " is unusable: " + why + " (moved aside to " + aside + ")";
  } else {
    *error = "checkpoint file " + path_ + " is unusable: " + why + " (could not move it aside to " +
             aside + ": " + errno_text(errno) + ")";
  }
  return false;
}

bool CheckpointStore::save(const std::vector<CheckpointEntry>& entries, std::string* error) {
  if (!make_dirs(dir_, error)) return false;
  buffer_.clear();
  encode_checkpoints(entries, buffer_);

  if (replace_file(dir_, path_, buffer_.view(), error)) return true;
  *error = "checkpoint not saved: " + *error;
  return false;
}

}  // namespace sluice
