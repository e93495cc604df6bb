// Fuzzes timestamp recognition: parse_timestamp on arbitrary text, without a zone (UTC) and in
// several IANA zones (DST, half-hour and 45-minute offsets, southern hemisphere), with a few
// fixed "now" values and one taken from the input (the syslog year inference); and
// parse_epoch_number. Every recognised time must survive a round trip: format_rfc3339 of the
// result re-parses (in any zone: the formatted text has an explicit `Z`) to the same value, and
// civil_from_ns/days_from_civil agree with it.
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "parse/timestamp.hpp"
#include "parse/timezone.hpp"

namespace sluice {
namespace {

const std::vector<std::shared_ptr<const TimeZone>>& zones() {
  static const auto* list = [] {
    auto* v = new std::vector<std::shared_ptr<const TimeZone>>{nullptr};
    for (const char* name : {"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                             "Pacific/Chatham", "Asia/Kolkata", "America/Sao_Paulo"}) {
      std::string error;
      auto zone = TimeZone::load(name, &error);
      if (!zone) {
        std::fprintf(stderr, "cannot load zone %s: %s\n", name, error.c_str());
        __builtin_trap();  // tzdata is a build dependency
      }
      v->push_back(std::move(zone));
    }
    return v;
  }();
  return *list;
}

void check_round_trip(int64_t ns) {
  char text[kRfc3339Length];
  format_rfc3339(ns, text);
  const std::string_view formatted(text, kRfc3339Length);
  for (const TimeZone* zone : {zones()[0].get(), zones()[2].get()}) {
    std::optional<int64_t> again = parse_timestamp(formatted, TimestampContext{zone, 0});
    if (!again || *again != ns) {
      std::fprintf(stderr, "round trip of %lld: %.*s -> %s %lld\n", static_cast<long long>(ns),
                   static_cast<int>(formatted.size()), formatted.data(),
                   again ? "different" : "not parsed", again ? static_cast<long long>(*again) : 0);
      __builtin_trap();
    }
  }
  const CivilTime c = civil_from_ns(ns);
  FUZZ_CHECK(c.month >= 1 && c.month <= 12 && c.day >= 1 && c.day <= 31 && c.hour < 24 &&
             c.minute < 60 && c.second < 60 && c.nanos < 1'000'000'000);
  const int64_t secs =
      days_from_civil(c.year, c.month, c.day) * 86400 + c.hour * 3600 + c.minute * 60 + c.second;
  // secs * 1e9 + nanos == ns (floor division: no overflow near the int64 limits).
  int64_t q = ns / 1'000'000'000;
  int64_t r = ns % 1'000'000'000;
  if (r < 0) {
    --q;
    r += 1'000'000'000;
  }
  FUZZ_CHECK(secs == q && r == static_cast<int64_t>(c.nanos));
}

void check_text(std::string_view text, int64_t now_ns) {
  for (const auto& zone : zones()) {
    std::optional<int64_t> ns = parse_timestamp(text, TimestampContext{zone.get(), now_ns});
    if (ns) check_round_trip(*ns);
  }
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // "now" values around which syslog years are inferred: mid-year, New Year's Eve, a leap day.
  for (int64_t now : {int64_t{1'710'408'413'000'000'000}, int64_t{1'735'689'599'000'000'000},
                      int64_t{1'709'164'800'000'000'000}}) {
    sluice::check_text(text, now);
  }
  // Any "now", from the first 8 bytes; the rest is the text.
  if (size >= 8) {
    int64_t now;
    std::memcpy(&now, data, sizeof now);
    sluice::check_text(text.substr(8), now);
  }
  if (std::optional<int64_t> ns = sluice::parse_epoch_number(text)) sluice::check_round_trip(*ns);
  return 0;
}
