#include "sources/container/pod_watch_target.hpp"

#include <unordered_set>
#include <utility>

namespace sluice::kube {

bool PodWatchTarget::read(simdjson::ondemand::object object, ObjectHead* head, std::string* error) {
  pending_ = std::make_shared<PodMetadata>();
  return read_pod(object, options_, pending_.get(), head, error);
}

void PodWatchTarget::add_listed() {
  if (!pending_->uid.empty()) listed_.push_back(std::move(pending_));
}

void PodWatchTarget::list_complete() {
  std::unordered_set<std::string> uids;
  for (const auto& pod : listed_) uids.insert(pod->uid);
  cache_.remove_all_but(uids);
  for (auto& pod : listed_) cache_.upsert(std::move(pod));
  listed_.clear();
  listed_.shrink_to_fit();
}

void PodWatchTarget::apply(std::string_view type) {
  if (pending_->uid.empty()) return;
  if (type == "DELETED") {
    cache_.remove(pending_->uid);
  } else {
    cache_.upsert(std::move(pending_));
  }
}

}  // namespace sluice::kube
