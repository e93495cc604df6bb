#include "support/es_bulk_answers.hpp"

#include <utility>

namespace sluice::testing {

std::string bulk_answer(const std::vector<int>& statuses, const std::string& action) {
  bool errors = false;
  std::string items;
  for (int status : statuses) {
    if (!items.empty()) items += ",";
    items += "{\"" + action + "\":{\"_index\":\"logs\",\"status\":" + std::to_string(status);
    if (status >= 300) {
      errors = true;
      std::string type = status == 429   ? "es_rejected_execution_exception"
                         : status == 409 ? "version_conflict_engine_exception"
                         : status >= 500 ? "unavailable_shards_exception"
                                         : "mapper_parsing_exception";
      items += ",\"error\":{\"type\":\"" + type +
               "\",\"reason\":\"failed: " + std::to_string(status) + "\"}";
    }
    items += "}}";
  }
  return std::string("{\"took\":1,\"errors\":") + (errors ? "true" : "false") + ",\"items\":[" +
         items + "]}";
}

std::function<Reply(const Received&)> per_doc(
    std::function<int(const std::string& doc, size_t request)> status) {
  return [status = std::move(status)](const Received& r) {
    std::vector<int> statuses;
    for (const auto& doc : r.docs) statuses.push_back(status(doc, r.number));
    return Reply{.status = 200, .body = bulk_answer(statuses)};
  };
}

}  // namespace sluice::testing
