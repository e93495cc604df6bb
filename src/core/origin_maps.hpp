#pragma once
// Maps of keys as written (pod labels and annotations) added to an Origin: sources build them
// once per file, with each encoding of the map worked out here, so that an event costs a copy.
#include <string>
#include <utility>
#include <vector>

#include "sluice/origin.hpp"

namespace sluice {

// Adds to `origin` the map `key` (a dotted ECS name such as `kubernetes.labels`) holding
// `entries` (keys as written, any characters; for a key given twice, the last value). A map
// added again under the same key replaces the first. An empty map adds nothing: the output then
// has no such object, as for a pod without labels. At most Origin::kMaxOriginMaps are kept.
//   add_origin_map(origin, "kubernetes.labels", {{"app", "web"}, {"app.kubernetes.io/name",
//   "web"}});
void add_origin_map(Origin& origin, std::string key,
                    std::vector<std::pair<std::string, std::string>> entries);

}  // namespace sluice
