#pragma once
// Where a batch's events were read from, for sources that read many places (one file each):
// emitted as metadata (`log.file.path`, `kubernetes.pod.name`, ...) and used for stable ids.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

struct Origin {
  std::string file_path;  // `log.file.path`; empty when not a file
  // Stable identity of the file (device, inode and fingerprint), for deterministic event ids.
  uint64_t file_id = 0;
  // Further metadata under dotted ECS names (`kubernetes.pod.name`, `container.id`), grouped
  // by their first segment: all `kubernetes.*` keys are adjacent, in output order.
  std::vector<std::pair<std::string, std::string>> fields;
};

}  // namespace sluice
