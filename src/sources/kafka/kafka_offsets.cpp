// KafkaOffsets: which offsets of which partitions the kafka source may commit.
#include <algorithm>

#include "sources/kafka/kafka_source.hpp"

namespace sluice {

KafkaOffsets::Partition* KafkaOffsets::find(std::string_view topic, int32_t id) {
  auto it = index_.find(Key{topic, id});
  return it == index_.end() ? nullptr : it->second;
}

KafkaOffsets::Partition& KafkaOffsets::get(std::string_view topic, int32_t id) {
  if (Partition* p = find(topic, id)) return *p;
  Partition& p = partitions_.emplace_back();
  p.topic = std::string(topic);
  p.id = id;
  p.id_text = std::to_string(id);
  index_.emplace(Key{p.topic, id}, &p);
  return p;
}

void KafkaOffsets::assign(Partition& p) {
  ++p.epoch;
  p.assigned = true;
  p.acked_next = -1;
  p.committed_next = -1;
}

void KafkaOffsets::revoke(Partition& p) {
  ++p.epoch;
  p.assigned = false;
}

void KafkaOffsets::add(Partition& p, int64_t offset) {
  for (auto it = building_.rbegin(); it != building_.rend(); ++it) {
    if (it->first == &p) {
      it->second = std::max(it->second, offset + 1);
      return;
    }
  }
  building_.emplace_back(&p, offset + 1);
}

uint64_t KafkaOffsets::seal() {
  if (building_.empty()) return 0;
  const uint64_t checkpoint = next_checkpoint_++;
  for (auto [p, next] : building_) {
    records_.push_back(Record{checkpoint, p, p->epoch, next});
    p->last_checkpoint = checkpoint;
  }
  building_.clear();
  return checkpoint;
}

bool KafkaOffsets::apply(uint64_t acknowledged) {
  bool moved = false;
  while (!records_.empty() && records_.front().checkpoint <= acknowledged) {
    const Record& r = records_.front();
    Partition& p = *r.partition;
    if (p.assigned && r.epoch == p.epoch && r.next_offset > p.acked_next) {
      p.acked_next = r.next_offset;
      moved = true;
    }
    records_.pop_front();
  }
  return moved;
}

bool KafkaOffsets::has_uncommitted() const {
  return std::any_of(partitions_.begin(), partitions_.end(), [](const Partition& p) {
    return p.assigned && p.acked_next > p.committed_next;
  });
}

}  // namespace sluice
