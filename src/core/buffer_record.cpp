#include "core/buffer_record.hpp"

#include <cstring>

namespace sluice {

namespace {

constexpr uint32_t kFormat = 1;
constexpr size_t kHeaderWords = 6;

// Appends a vector's bytes as one piece (none for an empty vector).
template <typename T>
void add_piece(std::vector<iovec>& pieces, size_t& size, const T* data, size_t count) {
  if (count == 0) return;
  // iovec's base is non-const for writev's sake; the record is only ever read from.
  pieces.push_back(
      {const_cast<T*>(data), count * sizeof(T)});  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  size += count * sizeof(T);
}

bool offsets_valid(const std::vector<uint32_t>& ends, size_t total) {
  uint32_t previous = 0;
  for (uint32_t end : ends) {
    if (end < previous || end > total) return false;
    previous = end;
  }
  return ends.empty() ? total == 0 : previous == total;
}

}  // namespace

BatchRecord::BatchRecord(const EncodedBatch& batch) {
  const size_t events = batch.count();
  header_ = {kFormat,
             static_cast<uint32_t>(events),
             batch.templates_per_event,
             batch.ids.empty() ? 0U : 1U,
             static_cast<uint32_t>(batch.data.size()),
             static_cast<uint32_t>(batch.rendered.size())};
  add_piece(header_.data(), header_.size());
  add_piece(batch.ends.data(), batch.ends.size());
  add_piece(batch.rendered_ends.data(), batch.rendered_ends.size());
  add_piece(batch.ids.data(), batch.ids.size());
  add_piece(batch.data.data(), batch.data.size());
  add_piece(batch.rendered.data(), batch.rendered.size());
}

bool decode_batch_record(std::string_view payload, EncodedBatch& batch, std::string* error) {
  batch.reset();
  uint32_t header[kHeaderWords];
  if (payload.size() < sizeof header) {
    *error = "record shorter than its header";
    return false;
  }
  std::memcpy(header, payload.data(), sizeof header);
  payload.remove_prefix(sizeof header);
  if (header[0] != kFormat) {
    *error = "unknown record format " + std::to_string(header[0]);
    return false;
  }
  const uint64_t events = header[1];
  const uint64_t per_event = header[2];
  const bool has_ids = header[3] != 0;
  const uint64_t data_bytes = header[4];
  const uint64_t rendered_bytes = header[5];
  if (header[3] > 1 || events == 0) {
    *error = "invalid record header";
    return false;
  }
  // 64-bit sums of 32-bit fields: no overflow, so the comparison is exact.
  const uint64_t renders = events * per_event;
  const uint64_t expected = events * 4 + renders * 4 + (has_ids ? events * sizeof(EventId) : 0) +
                            data_bytes + rendered_bytes;
  if (expected != payload.size()) {
    *error = "record sizes do not add up";
    return false;
  }
  auto take = [&](auto& vec, size_t count) {
    vec.resize(count);
    if (count > 0) std::memcpy(vec.data(), payload.data(), count * sizeof(vec[0]));
    payload.remove_prefix(count * sizeof(vec[0]));
  };
  take(batch.ends, events);
  take(batch.rendered_ends, renders);
  if (has_ids) take(batch.ids, events);
  batch.data.resize(data_bytes);
  if (data_bytes > 0) std::memcpy(batch.data.data(), payload.data(), data_bytes);
  payload.remove_prefix(data_bytes);
  batch.rendered.resize(rendered_bytes);
  if (rendered_bytes > 0) std::memcpy(batch.rendered.data(), payload.data(), rendered_bytes);
  batch.templates_per_event = static_cast<uint32_t>(per_event);
  if (!offsets_valid(batch.ends, data_bytes) ||
      !offsets_valid(batch.rendered_ends, rendered_bytes)) {
    batch.reset();
    *error = "record offsets out of order or out of bounds";
    return false;
  }
  return true;
}

}  // namespace sluice
