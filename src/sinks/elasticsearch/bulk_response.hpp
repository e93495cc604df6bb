#pragma once
// Reading the answer of Elasticsearch to one `_bulk` request, and what the sink does with each
// outcome. The answer is `{"took":…,"errors":bool,"items":[{"<action>":{"status":…,"error":
// {"type":…,"reason":…}}},…]}`, one item per action, in the order of the request.
#include <simdjson.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::es {

// One item of the answer.
struct ItemResult {
  int status = 0;     // an HTTP status, 100-599 (anything else makes the answer Malformed)
  std::string error;  // "type: reason" when the item failed, else empty
};

struct BulkParse {
  enum class Kind {
    AllStored,  // `errors: false`: every item stored (items not read: the fast path)
    Items,      // per-item results in BulkResponseParser::items()
    Malformed,  // not a bulk answer (an item without an HTTP status, `errors` or `items`
                // twice, ...), or the item count differs: retry the whole request
  };
  Kind kind = Kind::Malformed;
  std::string error;  // why Malformed
};

class BulkResponseParser {
 public:
  // Parses the body of a 2xx answer to a request of `expected_items` actions. The body is
  // given padding for simdjson in place (its capacity grows; its contents stay).
  BulkParse parse(std::string& body, size_t expected_items);
  // Only the fast path: true when the body is a bulk answer with `errors: false` (the items are
  // not read). Pads the body like parse().
  bool all_stored(std::string& body);
  [[nodiscard]] const std::vector<ItemResult>& items() const { return items_; }

 private:
  BulkParse read_answer(std::string& body, size_t expected_items);
  bool read_items(simdjson::ondemand::array items, std::string* error);

  simdjson::ondemand::parser parser_;
  std::vector<ItemResult> items_;
};

// What happens to one item, by its status.
enum class ItemFate {
  Stored,          // 2xx
  AlreadyPresent,  // 409 on `create` with an id: delivered before (a replay or a retry)
  Retry,           // 429, 5xx: sent again alone, after a backoff
  DeadLetter,      // any other status: this document will never be accepted
};
ItemFate item_fate(int status, bool create_with_id);

// What happens to a whole request, by the HTTP outcome.
enum class RequestFate {
  ReadItems,      // 2xx: parse the bulk answer
  Retry,          // no answer (connection, timeout), 429 or 5xx: the whole request again
  Split,          // 413: halves, each on its own; a single event still too large is dead-lettered
  Misconfigured,  // 3xx, other 4xx (401, 403, 404, 400 not a bulk answer): log loudly, retry
};
RequestFate request_fate(bool responded, int status);

// The start of a response body for a log line: at most `max` bytes, cut at a character.
std::string body_excerpt(std::string_view body, size_t max = 300);

}  // namespace sluice::es
