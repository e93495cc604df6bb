#pragma once
#include <cstdint>

namespace sluice {

// How a sink wants events written. Workers encode once per distinct spec and share the bytes
// between the sinks that asked for the same one.
struct EncodingSpec {
  enum class Kind : uint8_t {
    Json,  // one JSON object per line (the event schema in README)
    Raw,   // the original line, unchanged
    Text,  // human-readable: time, level, message, key=value fields
  };
  Kind kind = Kind::Json;
  bool color = false;  // Text only: ANSI colours
  // Text only: each event begins with where it came from (`[namespace/pod/container]`, the
  // file's base name, else the source's name), for output that mixes several sources.
  bool prefix = false;
  // Json only: every `.` in the keys of the origin's maps (Origin::maps: `kubernetes.labels`,
  // `kubernetes.annotations`, `kubernetes.namespace_labels`) is written as `_`, as Filebeat's
  // dedot does: Elasticsearch reads a dotted key as an object path, so that label `app` and
  // label `app.kubernetes.io/name` would collide (a mapping conflict rejects the document).
  bool dedot_map_keys = false;
  bool operator==(const EncodingSpec&) const = default;
};

}  // namespace sluice
