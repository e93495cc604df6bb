#pragma once
// The document store and `_bulk` semantics of sluice_es_emulator (tests/es/es_emulator.cpp),
// kept apart from the HTTP server so each can be read alone. Written from Elastic's
// documentation of the bulk API (see the sources listed at the top of es_emulator.cpp).
//
// Not thread-safe: the emulator touches it from its single io_context thread only.
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <simdjson.h>

#include "mapping.hpp"

namespace es_emu {

// Everything /_emulator/stats reports. Plain integers: one thread writes, and readers get a
// snapshot taken on that thread.
struct Counters {
  uint64_t http_requests = 0;
  uint64_t connections = 0;
  uint64_t requests = 0;  // bulk requests received (including the ones answered 4xx/5xx)
  uint64_t bulk_items = 0;
  uint64_t created = 0;
  uint64_t updated = 0;
  uint64_t deleted = 0;
  uint64_t items_400 = 0;
  uint64_t items_404 = 0;
  uint64_t items_409 = 0;
  uint64_t items_429 = 0;
  uint64_t requests_400 = 0;
  uint64_t requests_401 = 0;
  uint64_t requests_406 = 0;
  uint64_t requests_413 = 0;
  uint64_t requests_503 = 0;
  uint64_t gzip_requests = 0;
  uint64_t body_bytes = 0;     // request bodies as received (compressed when gzip)
  uint64_t decoded_bytes = 0;  // bulk bodies after decompression
  uint64_t action_index = 0;
  uint64_t action_create = 0;
  uint64_t action_delete = 0;
  uint64_t action_update = 0;
};

// An HTTP answer as Elasticsearch would give it: status and JSON body.
struct Answer {
  int status = 200;
  std::string body;
};

// Appends `s` as a JSON string literal (quotes included).
void append_json_string(std::string& out, std::string_view s);

// The body of an Elasticsearch whole-request error:
// {"error":{"root_cause":[{"type":…,"reason":…}],"type":…,"reason":…},"status":N}
std::string error_body(int status, std::string_view type, std::string_view reason);

// Shell-style glob (`*`, `?`) as used by index template patterns (`logs-*-*`).
bool glob_match(std::string_view pattern, std::string_view text);

// The reason Elasticsearch gives for an invalid index name, or empty when the name is valid.
std::string invalid_index_reason(std::string_view name);

class BulkStore {
 public:
  BulkStore(std::vector<std::string> data_stream_patterns, uint64_t seed);

  // True with probability `p` (0..1), from the seeded generator.
  bool roll(double p);

  // Executes one decoded `_bulk` body. `default_index` comes from `/{index}/_bulk` (may be
  // empty). Each item is independently rejected with 429 with probability `reject_429`.
  Answer bulk(std::string_view body, std::string_view default_index, double reject_429,
              Counters& counters);

  // NDJSON, one {"_index":…,"_id":…,"_source":…} per live document, in store order (a document
  // overwritten by `index` keeps its place).
  [[nodiscard]] std::string docs_ndjson() const;
  [[nodiscard]] uint64_t live_docs() const { return live_; }

 private:
  struct Doc {
    std::string index;
    std::string id;
    std::string source;
    bool live = true;
  };
  struct IdState {
    size_t pos = 0;  // in docs_
    uint64_t version = 0;
    bool live = false;  // false: deleted (the version survives, as ES keeps tombstones)
  };
  struct IndexState {
    std::unordered_map<std::string, IdState> ids;
    Mapping mapping;
    uint64_t seq_no = 0;
    std::string uuid;
  };
  struct Action;

  IndexState& index_state(const std::string& name);
  std::string generate_id();
  std::string backing_index(const std::string& stream);
  bool is_data_stream(std::string_view index) const;
  // One item: appends its response object to `items`; returns false when it failed.
  bool execute(const Action& action, std::string_view source, double reject_429, Counters& counters,
               std::string& items);

  std::vector<std::string> data_stream_patterns_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
  std::unordered_map<std::string, IndexState> indices_;
  std::unordered_map<std::string, std::string> backing_;  // data stream → its backing index
  std::vector<Doc> docs_;
  uint64_t live_ = 0;
  uint64_t id_counter_ = 0;
  simdjson::dom::parser parser_;
};

}  // namespace es_emu
