#pragma once
// Synthetic, deterministic log lines for the benchmarks (micro_bench.cpp and gen_corpus.cpp).
// Self-contained on purpose: gen_corpus links nothing from sluice, so the generated corpus does
// not depend on the code it measures.
//
// JSON lines look like what a structured logger (zap, slog, pino, logback-json) writes, about
// 200 bytes each:
//   {"time":"2024-03-14T09:26:53.589Z","level":"info","logger":"checkout.api","msg":"order
//    placed","order_id":482131,"user":"u-07731","amount":129.95,"latency_ms":12,...}
// with varied levels (weighted like real traffic), messages, numbers, fraction lengths and
// offsets, an occasional nested object, escaped quote, non-ASCII text or `null`.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace sluice::bench {

// splitmix64: tiny, fast, and good enough for test data.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform-ish in [0, n).
  uint32_t below(uint32_t n) { return static_cast<uint32_t>((next() >> 32) * n >> 32); }

 private:
  uint64_t state_;
};

// Appends text at `p`; the caller guarantees room (a line never exceeds kMaxLineBytes).
class LineWriter {
 public:
  explicit LineWriter(char* p) : begin_(p), p_(p) {}
  LineWriter& s(std::string_view text) {
    std::memcpy(p_, text.data(), text.size());
    p_ += text.size();
    return *this;
  }
  LineWriter& c(char ch) {
    *p_++ = ch;
    return *this;
  }
  LineWriter& u(uint64_t v) {
    p_ = std::to_chars(p_, p_ + 20, v).ptr;
    return *this;
  }
  // Zero-padded to `width` digits.
  LineWriter& z(uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      p_[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p_ += width;
    return *this;
  }
  LineWriter& hex(uint64_t v, int digits) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; --i) {
      p_[i] = kHex[v & 0xF];
      v >>= 4;
    }
    p_ += digits;
    return *this;
  }
  [[nodiscard]] size_t size() const { return static_cast<size_t>(p_ - begin_); }

 private:
  char* begin_;
  char* p_;
};

inline constexpr size_t kMaxLineBytes = 512;

// Howard Hinnant's civil_from_days.
inline void civil_from_days(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

// RFC 3339 with a 3, 6 or 9 digit fraction and `Z` or a numeric offset (the wall time is shifted
// so every variant denotes the same instant `ns`).
inline void write_rfc3339(LineWriter& w, int64_t ns, Rng& rng) {
  static constexpr int kOffsetsMin[] = {0, 0, 0, 0, 0, 120, -300, 330};
  int offset_min = kOffsetsMin[rng.below(8)];
  int64_t secs = ns / 1'000'000'000 + offset_min * 60;
  auto frac = static_cast<uint64_t>(ns % 1'000'000'000);
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  w.z(static_cast<uint64_t>(y), 4).c('-').z(m, 2).c('-').z(d, 2).c('T');
  w.z(static_cast<uint64_t>(sod / 3600), 2).c(':').z(static_cast<uint64_t>(sod / 60 % 60), 2);
  w.c(':').z(static_cast<uint64_t>(sod % 60), 2).c('.');
  switch (rng.below(3)) {
    case 0:
      w.z(frac / 1'000'000, 3);
      break;
    case 1:
      w.z(frac / 1'000, 6);
      break;
    default:
      w.z(frac, 9);
      break;
  }
  if (offset_min == 0) {
    w.c('Z');
  } else {
    int a = offset_min < 0 ? -offset_min : offset_min;
    w.c(offset_min < 0 ? '-' : '+').z(static_cast<uint64_t>(a / 60), 2).c(':');
    w.z(static_cast<uint64_t>(a % 60), 2);
  }
}

inline std::string_view pick_level(Rng& rng) {
  uint32_t r = rng.below(100);
  if (r < 10) return "debug";
  if (r < 80) return "info";
  if (r < 93) return "warn";
  return "error";
}

inline constexpr std::string_view kLoggers[] = {
    "http.server", "checkout.api", "db.pool",         "auth",
    "scheduler",   "cache.redis",  "payments.client", "grpc.gateway"};

inline constexpr std::string_view kMessages[] = {
    "request completed",
    "order placed",
    "user signed in",
    "cache miss, loading from backing store",
    "connection returned to pool",
    "retrying upstream call after timeout",
    "job finished",
    "slow query detected",
    "token refreshed",
    "payment authorised by provider",
    "rate limit exceeded for client",
    "health check ok",
    "failed to parse header \\\"X-Request-Id\\\"",  // an escaped quote
    "config reloaded from /etc/app/config.yaml",
    "Zürich datacenter unreachable",  // non-ASCII (valid UTF-8)
    "websocket closed by peer"};

inline constexpr std::string_view kPaths[] = {"/api/v1/orders", "/api/v1/users",
                                              "/healthz",       "/api/v2/cart/items",
                                              "/login",         "/static/app.js"};
inline constexpr std::string_view kMethods[] = {"GET", "GET", "GET", "POST", "PUT", "DELETE"};

// One JSON log line for event number `index` (timestamps advance ~1 ms per line from
// 2024-03-14T09:26:53Z). Writes at most kMaxLineBytes bytes to `out`, no newline; returns the
// length.
inline size_t make_json_line(Rng& rng, uint64_t index, char* out) {
  LineWriter w(out);
  int64_t ns = 1'710'408'413'000'000'000 + static_cast<int64_t>(index) * 1'000'000 +
               static_cast<int64_t>(rng.below(1'000'000));
  w.s("{\"time\":\"");
  write_rfc3339(w, ns, rng);
  w.s("\",\"level\":\"").s(pick_level(rng));
  w.s("\",\"logger\":\"").s(kLoggers[rng.below(8)]);
  w.s("\",\"msg\":\"").s(kMessages[rng.below(16)]).s("\"");
  switch (rng.below(4)) {
    case 0: {  // HTTP request with a nested object
      w.s(",\"http\":{\"method\":\"").s(kMethods[rng.below(6)]);
      w.s("\",\"path\":\"").s(kPaths[rng.below(6)]).s("\",\"status\":");
      static constexpr uint32_t kStatus[] = {200, 200, 200, 201, 204, 304, 404, 500};
      w.u(kStatus[rng.below(8)]).s("}");
      w.s(",\"bytes\":").u(rng.below(100000));
      break;
    }
    case 1:  // business event with a decimal amount
      w.s(",\"order_id\":").u(100000 + rng.below(900000));
      w.s(",\"user\":\"u-").z(rng.below(100000), 5).s("\"");
      w.s(",\"amount\":").u(rng.below(1000)).c('.').z(rng.below(100), 2);
      break;
    case 2:  // database timing, sometimes a null
      w.s(",\"db\":\"orders\",\"rows\":").u(rng.below(5000));
      w.s(",\"error\":").s(rng.below(4) == 0 ? "\"deadlock detected\"" : "null");
      break;
    default:  // worker job with a boolean
      w.s(",\"job\":\"reindex-").u(rng.below(64)).s("\",\"attempt\":").u(1 + rng.below(3));
      w.s(",\"ok\":").s(rng.below(10) == 0 ? "false" : "true");
      break;
  }
  w.s(",\"latency_ms\":").u(rng.below(2000));
  w.s(",\"span_id\":\"").hex(rng.next(), 16).s("\"");
  // Pad towards a target length of 170..230 bytes, like a logger adding context fields.
  size_t target = 170 + rng.below(61);
  if (w.size() + 20 < target) {
    w.s(",\"host\":\"node-");
    size_t pad = target - w.size() - 2;
    static constexpr char kAlnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t bits = rng.next();
    for (size_t i = 0; i < pad; ++i) {
      if (i % 10 == 0) bits = rng.next();
      w.c(kAlnum[bits % 36]);
      bits /= 36;
    }
    w.s("\"");
  }
  w.s("}");
  return w.size();
}

// The same kind of event as logfmt (`time=... level=info msg="..." key=value ...`).
inline size_t make_logfmt_line(Rng& rng, uint64_t index, char* out) {
  LineWriter w(out);
  int64_t ns = 1'710'408'413'000'000'000 + static_cast<int64_t>(index) * 1'000'000 +
               static_cast<int64_t>(rng.below(1'000'000));
  w.s("time=");
  write_rfc3339(w, ns, rng);
  w.s(" level=").s(pick_level(rng));
  w.s(" logger=").s(kLoggers[rng.below(8)]);
  w.s(" msg=\"").s(kMessages[rng.below(16)]).s("\"");
  w.s(" method=").s(kMethods[rng.below(6)]).s(" path=").s(kPaths[rng.below(6)]);
  w.s(" status=").u(200 + rng.below(4) * 100).s(" bytes=").u(rng.below(100000));
  w.s(" user=u-").z(rng.below(100000), 5);
  w.s(" latency_ms=").u(rng.below(2000)).c('.').z(rng.below(1000), 3);
  if (rng.below(8) == 0) w.s(" cached");  // a bare key
  w.s(" trace_id=").hex(rng.next(), 16).hex(rng.next(), 16);
  return w.size();
}

}  // namespace sluice::bench
