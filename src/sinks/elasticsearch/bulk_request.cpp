#include "sinks/elasticsearch/bulk_request.hpp"

#include <algorithm>
#include <cstring>

#include "core/json_writer.hpp"

namespace sluice::es {

namespace {

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool leading_forbidden(char c) { return c == '-' || c == '_' || c == '+'; }

// The length of `text` without a multi-byte character cut off at its end.
size_t complete_prefix(std::string_view text) {
  size_t lead = text.size();
  while (lead > 0 && (static_cast<unsigned char>(text[lead - 1]) & 0xC0) == 0x80) --lead;
  if (lead == 0) return text.size();
  auto c = static_cast<unsigned char>(text[lead - 1]);
  size_t length = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  return lead - 1 + length <= text.size() ? text.size() : lead - 1;
}

}  // namespace

// Characters Elasticsearch refuses in index names (`:` is deprecated there, refused here).
bool forbidden_in_index(unsigned char c) {
  switch (c) {
    case '\\':
    case '/':
    case '*':
    case '?':
    case '"':
    case '<':
    case '>':
    case '|':
    case ',':
    case '#':
    case ':':
    case ' ':
      return true;
    default:
      return c < 0x20 || c == 0x7f;
  }
}

void format_event_id(const EventId& id, char out[kEventIdChars]) {
  unsigned char bytes[16];
  for (int k = 0; k < 8; ++k) {
    bytes[k] = static_cast<unsigned char>(id.hi >> (56 - 8 * k));
    bytes[8 + k] = static_cast<unsigned char>(id.lo >> (56 - 8 * k));
  }
  size_t o = 0;
  for (size_t k = 0; k + 2 < 16; k += 3) {
    uint32_t v = (uint32_t{bytes[k]} << 16) | (uint32_t{bytes[k + 1]} << 8) | bytes[k + 2];
    out[o++] = kBase64Url[(v >> 18) & 63];
    out[o++] = kBase64Url[(v >> 12) & 63];
    out[o++] = kBase64Url[(v >> 6) & 63];
    out[o++] = kBase64Url[v & 63];
  }
  // 16 = 5 × 3 + 1: the last byte gives two characters, without padding.
  out[o++] = kBase64Url[bytes[15] >> 2];
  out[o] = kBase64Url[(bytes[15] & 3) << 4];
}

bool append_index_name(ByteBuffer& out, std::string_view name) {
  size_t start = out.size();
  bool ascii = std::all_of(name.begin(), name.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  // Multi-byte UTF-8 is allowed in index names; bytes of an invalid sequence are not.
  bool keep_high = !ascii && is_valid_utf8(name);
  char* p = out.prepare(std::min(name.size(), kMaxIndexBytes));
  size_t n = 0;
  bool cut = false;
  for (char ch : name) {
    if (n == kMaxIndexBytes) {
      cut = true;
      break;
    }
    auto c = static_cast<unsigned char>(ch);
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<unsigned char>(c - 'A' + 'a');
    } else if (forbidden_in_index(c) || (c >= 0x80 && !keep_high)) {
      c = '_';
    }
    if (n == 0 && leading_forbidden(static_cast<char>(c))) continue;
    p[n++] = static_cast<char>(c);
  }
  if (cut) n = complete_prefix(std::string_view(p, n));
  std::string_view result(p, n);
  if (result.empty() || result == "." || result == "..") {
    out.resize(start);
    return false;
  }
  out.commit(n);
  return true;
}

bool is_valid_index_name(std::string_view name) {
  ByteBuffer buffer;
  return append_index_name(buffer, name) && buffer.view() == name;
}

std::string url_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string bulk_target(std::string_view pipeline) {
  std::string target = "/_bulk";
  if (!pipeline.empty()) target += "?pipeline=" + url_encode(pipeline);
  return target;
}

void BulkBodyBuilder::append_index(ByteBuffer& body, const EncodedBatch& batch, size_t i) {
  if (spec_.index_slot < 0) {
    body.append(spec_.static_index);
    return;
  }
  std::string_view rendered = batch.rendered_value(i, static_cast<size_t>(spec_.index_slot));
  if (rendered.find(kMissingField) != std::string_view::npos ||
      !append_index_name(body, rendered)) {
    body.append(spec_.default_index);
  }
}

void BulkBodyBuilder::append(ByteBuffer& body, const EncodedBatch& batch, size_t i) {
  body.append(spec_.action == Action::Create ? R"({"create":{"_index":")"
                                             : R"({"index":{"_index":")");
  // The name needs no JSON escaping: quotes, backslashes and control characters are replaced.
  append_index(body, batch, i);
  body.push_back('"');
  if (spec_.id == IdMode::Auto && i < batch.ids.size()) {
    body.append(R"(,"_id":")");
    format_event_id(batch.ids[i], body.prepare(kEventIdChars));
    body.commit(kEventIdChars);
    body.push_back('"');
  } else if (spec_.id == IdMode::Template) {
    std::string_view id = batch.rendered_value(i, static_cast<size_t>(spec_.id_slot));
    // A missing field: Elasticsearch generates the id.
    if (id.find(kMissingField) == std::string_view::npos) {
      body.append(R"(,"_id":)");
      append_json_string(body, id);
    }
  }
  body.append("}}\n");
  std::string_view event = batch.event(i);
  body.append(event);
  if (event.empty() || event.back() != '\n') body.push_back('\n');
}

std::string BulkBodyBuilder::index_of(const EncodedBatch& batch, size_t i) {
  scratch_.clear();
  append_index(scratch_, batch, i);
  return std::string(scratch_.view());
}

GzipCompressor::GzipCompressor() {
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  ready_ = deflateInit2(&stream_, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

GzipCompressor::~GzipCompressor() {
  if (ready_) deflateEnd(&stream_);
}

bool GzipCompressor::compress(std::string_view in, ByteBuffer& out, std::string* error) {
  if (!ready_) {
    *error = "zlib could not be initialised";
    return false;
  }
  deflateReset(&stream_);
  out.clear();
  // deflateBound() is enough for one Z_FINISH call to compress everything.
  size_t bound = deflateBound(&stream_, static_cast<uLong>(in.size()));
  out.reserve(bound);
  stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  stream_.avail_in = static_cast<uInt>(in.size());
  stream_.next_out = reinterpret_cast<Bytef*>(out.data());
  stream_.avail_out = static_cast<uInt>(bound);
  int rc = deflate(&stream_, Z_FINISH);
  if (rc != Z_STREAM_END) {
    *error = std::string("gzip failed: ") + (stream_.msg ? stream_.msg : "deflate error");
    return false;
  }
  out.resize(bound - stream_.avail_out);
  return true;
}

GzipPool::GzipPool(size_t threads) {
  for (size_t k = 0; k < std::max<size_t>(threads, 1); ++k)
    threads_.emplace_back([this] { run(); });
}

GzipPool::~GzipPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void GzipPool::submit(std::string_view in, ByteBuffer* out, Done done) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(Job{in, out, std::move(done)});
  }
  cv_.notify_one();
}

void GzipPool::run() {
  GzipCompressor gzip;
  std::string error;
  while (true) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    error.clear();
    bool ok = gzip.compress(job.in, *job.out, &error);
    job.done(ok, error);
  }
}

}  // namespace sluice::es
