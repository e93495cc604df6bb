#pragma once
// The encoder's memo of layouts (core/encode_memo.hpp) writes what the general encoder writes:
// an event recorded and then written again from its recorded layout gives the same bytes twice.
#include <memory>
#include <string>
#include <string_view>

#include "core/encoder.hpp"
#include "core/origin_maps.hpp"
#include "fuzz_common.hpp"

namespace sluice::fuzz {

// `spec`: the JSON encoding, with or without dedotted map keys (EncodingSpec::dedot_map_keys).
inline void check_memo_replay(const Batch& batch, const Event& event, const SourceMeta& meta,
                              EncodingSpec spec = EncodingSpec{EncodingSpec::Kind::Json}) {
  ByteBuffer general, memoised;
  encode_event(batch, event, meta, spec, general);
  EncodeMemo memo;
  memo.reset();
  encode_event(batch, event, meta, spec, memoised, memo);
  encode_event(batch, event, meta, spec, memoised, memo);
  const std::string twice = std::string(general.view()) + std::string(general.view());
  if (memoised.view() != twice) {
    std::fprintf(stderr, "the memo wrote\n%.*s\nthe general encoder\n%s\n",
                 static_cast<int>(memoised.size()), memoised.data(), twice.c_str());
    __builtin_trap();
  }
}

// A pod's origin whose label and annotation maps hold keys and values taken from the fuzzer's
// input (dots, slashes, quotes, invalid UTF-8, keys that dedot to one), beside keys that
// collide once dedotted, so that every encoding of every event also writes such maps.
inline std::shared_ptr<Origin> origin_with_maps(std::string_view input) {
  auto origin = std::make_shared<Origin>();
  origin->file_path = "/var/log/containers/web-0_shop_app-0123.log";
  origin->fields = {
      {"kubernetes.pod.name", "web-0"}, {"kubernetes.namespace", "shop"}, {"container.id", "0123"}};
  const std::string_view head = input.substr(0, 48);
  const size_t cut = head.size() / 2;
  add_origin_map(*origin, "kubernetes.labels",
                 {{"app", "web"},
                  {"app.kubernetes.io/name", std::string(head)},
                  {std::string(head.substr(0, cut)), "first"},
                  {std::string(head.substr(cut)), "second"},
                  {"a.b", "dotted"},
                  {"a_b", "underscored"}});
  add_origin_map(*origin, "kubernetes.annotations",
                 {{std::string(head), std::string(head.substr(cut))}});
  return origin;
}

// The event in JSON (plain and dedotted: each valid, one line, no key twice, the memo's bytes
// the general encoder's) and in text.
inline void check_every_encoding(const Batch& batch, const Event& event, const SourceMeta& meta) {
  for (bool dedot : {false, true}) {
    EncodingSpec spec{EncodingSpec::Kind::Json};
    spec.dedot_map_keys = dedot;
    ByteBuffer out;
    encode_event(batch, event, meta, spec, out);
    check_encoded_json(out.view());
    check_memo_replay(batch, event, meta, spec);
  }
  ByteBuffer text;
  encode_event(batch, event, meta, EncodingSpec{EncodingSpec::Kind::Text}, text);
  check_encoded_text(text.view());
}

}  // namespace sluice::fuzz
