#pragma once
// What a list + watch of a Kubernetes resource hands its objects to (WatchTarget), and the
// reading of one line of a watch stream, `{"type":"ADDED","object":{...}}`. Apart from
// ResourceWatch (kube_watch.hpp), which does the requests, so that what comes from the API
// server can be tested and fuzzed without an HTTP client.
#include <string>
#include <string_view>

#include <simdjson.h>

#include "sources/container/pod_metadata.hpp"

namespace sluice::kube {

// What a ResourceWatch lists and watches, and what it does with the objects.
class WatchTarget {
 public:
  virtual ~WatchTarget() = default;
  // "/api/v1/pods"; "" for none.
  [[nodiscard]] virtual std::string path() const = 0;
  // Reads one object (consuming it) into the target's pending object; `head` gets its kind,
  // resourceVersion and, for a Status, code and message.
  virtual bool read(simdjson::ondemand::object object, ObjectHead* head, std::string* error) = 0;
  // A list starts (again): what an unfinished one collected is dropped.
  virtual void list_begin() = 0;
  // The pending object is one of the list being read.
  virtual void add_listed() = 0;
  // The list is complete: it replaces what was known (objects not listed are gone).
  virtual void list_complete() = 0;
  // An event about the pending object.
  virtual void apply(std::string_view type) = 0;
};

// Reads one watch event line: its "type" into `type` (as written: ADDED, MODIFIED, DELETED,
// BOOKMARK, ERROR or one this client does not know) and its "object" through target.read() into
// the target's pending object (its head into `head`). What the event means is the caller's
// business. `padded_copy` is where the line is copied with simdjson's padding: the caller keeps
// it between events so that its capacity is reused (past 1 MiB it is given back). False with
// `error` set when the line is no such event: not a JSON object, a type that is not a string, no
// object, or an object the target cannot read.
bool read_watch_event(simdjson::ondemand::parser& parser, std::string& padded_copy,
                      std::string_view line, WatchTarget& target, std::string* type,
                      ObjectHead* head, std::string* error);

}  // namespace sluice::kube
