#pragma once
// Where a batch's events were read from, for sources that read many places (one file each):
// emitted as metadata (`log.file.path`, `kubernetes.pod.name`, ...) and used for stable ids.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

class EventParser;

// A map of keys as written (pod labels and annotations: `app`, `app.kubernetes.io/name`) under
// one dotted ECS name (`kubernetes.labels`). Its keys are never split at their dots: every
// encoding writes them as they are (`"labels":{"app.kubernetes.io/name":"web"}`), except the
// Elasticsearch sink's `dedot` (EncodingSpec::dedot_map_keys). Built once per origin by
// add_origin_map() (core/origin_maps.hpp), with each encoding worked out there, so that an event
// costs one copy.
struct OriginMap {
  std::string key;                                           // `kubernetes.labels`
  std::vector<std::pair<std::string, std::string>> entries;  // sorted by key, keys unique
  std::string json;        // the entries as a compact JSON object: {"app":"web",...}
  std::string json_dedot;  // the same with every `.` in a key written as `_`
  std::string text;        // ` kubernetes.labels.app=web ...` for the text encoding
  std::string text_color;  // the same with the keys coloured
};

struct Origin {
  std::string file_path;  // `log.file.path`; empty when not a file
  // Stable identity of the file (device, inode and fingerprint), for deterministic event ids.
  uint64_t file_id = 0;
  // Further metadata under dotted ECS names (`kubernetes.pod.name`, `container.id`), grouped
  // by their first segment: all `kubernetes.*` keys are adjacent, in output order.
  std::vector<std::pair<std::string, std::string>> fields;
  // Maps beside the fields (`kubernetes.labels`, `kubernetes.annotations`,
  // `kubernetes.namespace_labels`), in the order added. The JSON encoding writes each inside the
  // objects of its name, right after the last field that shares its first segment (so that
  // `kubernetes.*` stays one object), or after all fields when none does. A map's key must be
  // neither a field's key nor a prefix of one, nor under one.
  std::vector<OriginMap> maps;
  static constexpr size_t kMaxOriginMaps = 64;  // add_origin_map() adds no more
  // The parser of this file's lines when it is not its source's (a pod's `sluice.io/parser` hint);
  // null: the source's. Chosen once per file, so a batch costs one pointer test.
  std::shared_ptr<const EventParser> parser;

  // The map named `key`, or null.
  [[nodiscard]] const OriginMap* find_map(std::string_view key) const {
    for (const OriginMap& map : maps) {
      if (map.key == key) return &map;
    }
    return nullptr;
  }
};

}  // namespace sluice
