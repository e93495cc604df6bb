#pragma once
// The pods a watch reads, into the PodCache: an event's pod is added, replaced or removed; a
// relist replaces the cache's live pods. KubeClient's pod watch target; public so that the
// reading of a watch stream can be tested and fuzzed into a real cache.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "sources/container/pod_cache.hpp"
#include "sources/container/pod_metadata.hpp"
#include "sources/container/watch_event.hpp"

namespace sluice::kube {

class PodWatchTarget final : public WatchTarget {
 public:
  // Both must outlive the target.
  PodWatchTarget(PodCache& cache, const PodExtractOptions& options)
      : cache_(cache), options_(options) {}

  [[nodiscard]] std::string path() const override { return "/api/v1/pods"; }
  bool read(simdjson::ondemand::object object, ObjectHead* head, std::string* error) override;
  void list_begin() override { listed_.clear(); }
  void add_listed() override;
  void list_complete() override;
  // A pod without a uid is not applied (the cache finds pods by uid).
  void apply(std::string_view type) override;

 private:
  PodCache& cache_;
  const PodExtractOptions& options_;
  std::shared_ptr<PodMetadata> pending_;
  std::vector<PodPtr> listed_;
};

}  // namespace sluice::kube
