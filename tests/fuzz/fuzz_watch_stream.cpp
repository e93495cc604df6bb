// Fuzzes the reading of the Kubernetes API server's watch stream, which comes from outside sluice
// (a buggy or compromised API server): the body of a watch arrives in reads of any size, the
// LineSplitter (what HttpClient::stream uses) cuts it into lines, and each line is one event that
// read_watch_event() reads into a real PodWatchTarget over a PodCache (what the pod watch does),
// the event then applied as ResourceWatch applies it.
//
// Input: byte 0 seeds the sizes of the reads; byte 1 chooses, in bits 0-1, how large a read may
// be (1-3 bytes, 1-64, 1-4096, the whole body at once), in bits 2-4 max_line_bytes (kCaps), in
// bit 5 whether labels are kept and in bit 6 whether hints are read. The rest is the body.
//
// Invariants:
//   - the lines are those an independent splitter finds in the whole body at once, whatever the
//     reads: none is empty or holds '\n', none is over the cap, one '\r' before each '\n' (and at
//     the end) is dropped; a line over the cap ends the stream, and nothing after it (more reads,
//     the end of the body) is handed over; a reader that says stop gets nothing more either;
//   - every event read gives an error or a type and an object; the type is the event's (checked
//     against simdjson's DOM reading of the line, when the line is valid JSON);
//   - a pod an ADDED or MODIFIED event put in the cache is found by its uid and by its
//     namespace/name with the event's uid, namespace, name, resourceVersion and labels; DELETED
//     removes it; at the end every pod the events left is found both ways, a name no live pod has
//     finds nothing or a pod of that name, and the cache holds exactly the pods left.
#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_common.hpp"
#include "net/line_splitter.hpp"
#include "sources/container/pod_cache.hpp"
#include "sources/container/pod_metadata.hpp"
#include "sources/container/pod_watch_target.hpp"
#include "sources/container/watch_event.hpp"

namespace sluice::kube {
namespace {

using net::LineSplitter;
using Feed = LineSplitter::Feed;

constexpr size_t kCaps[8] = {0, 8, 64, 512, 2048, 16384, 65536, 1U << 20};
constexpr size_t kReadBounds[3] = {3, 64, 4096};

// The sizes of the reads the body arrives in.
std::vector<size_t> read_sizes(size_t body_size, uint8_t seed, uint8_t bound_choice) {
  if (bound_choice >= 3) return {body_size};
  const size_t bound = kReadBounds[bound_choice];
  uint32_t state = 0x9E3779B9U ^ (static_cast<uint32_t>(seed) * 0x01000193U);
  std::vector<size_t> sizes;
  for (size_t left = body_size; left > 0;) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    const size_t n = std::min<size_t>(left, 1 + state % bound);
    sizes.push_back(n);
    left -= n;
  }
  return sizes;
}

// The lines of the whole body, split without LineSplitter: every '\n' ends a line, and so does
// the end of the body; a line's bytes before its '\n' over the cap end the stream there.
struct ReferenceLines {
  std::vector<std::string_view> lines;
  bool too_long = false;
};

ReferenceLines reference_split(std::string_view body, size_t cap) {
  ReferenceLines out;
  size_t start = 0;
  while (start < body.size()) {
    const size_t newline = body.find('\n', start);
    const size_t end = newline == std::string_view::npos ? body.size() : newline;
    std::string_view line = body.substr(start, end - start);
    if (line.size() > cap) {
      out.too_long = true;
      break;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) out.lines.push_back(line);
    if (newline == std::string_view::npos) break;
    start = newline + 1;
  }
  return out;
}

// Feeds the body in `sizes` reads, then finishes; every line is checked and given to `reader`.
// Returns what the last feed() said.
template <typename Reader>
Feed split_in_reads(std::string_view body, const std::vector<size_t>& sizes, size_t cap,
                    std::vector<std::string>* lines, Reader&& reader) {
  LineSplitter splitter(cap);
  Feed last = Feed::More;
  bool ended = false;
  const auto on_line = [&](std::string_view line) {
    FUZZ_CHECK(!ended);  // nothing after a line over the cap or a stop
    FUZZ_CHECK(!line.empty());
    FUZZ_CHECK(line.size() <= cap);
    FUZZ_CHECK(line.find('\n') == std::string_view::npos);
    lines->emplace_back(line);
    return reader(line);
  };
  size_t pos = 0;
  for (const size_t n : sizes) {
    const Feed fed = splitter.feed(body.data() + pos, n, on_line);
    pos += n;
    // Once ended, it stays ended with the same reason.
    if (ended) FUZZ_CHECK(fed == last);
    last = fed;
    ended = fed != Feed::More;
    // A line split across reads is kept only up to the cap.
    FUZZ_CHECK(splitter.pending_bytes() <= cap);
  }
  FUZZ_CHECK(pos == body.size());
  splitter.finish(on_line);
  FUZZ_CHECK(splitter.pending_bytes() == 0);
  return last;
}

// What simdjson's DOM reads from an event line, as read_watch_event() and read_pod() read it: the
// last "type", and of the last "object" the metadata's uid, namespace, name and labels (a field
// written twice: the last one counts; metadata written twice: both, in order).
struct ReferenceEvent {
  std::string type;
  std::string uid;
  std::string namespace_name;
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  bool labels_exact = true;  // one labels map, no key twice: comparable with the pod's
};

std::optional<ReferenceEvent> reference_event(std::string_view line) {
  static simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::object root;
  if (parser.parse(line.data(), line.size()).get(doc) || doc.get_object().get(root)) {
    return std::nullopt;
  }
  ReferenceEvent event;
  simdjson::dom::object object;
  bool has_object = false;
  for (const auto field : root) {
    if (field.key == "type") {
      std::string_view text;
      if (field.value.get_string().get(text)) return std::nullopt;
      event.type = text;
    } else if (field.key == "object") {
      if (field.value.get_object().get(object)) return std::nullopt;
      has_object = true;
    }
  }
  if (!has_object) return std::nullopt;
  int label_maps = 0;
  for (const auto field : object) {
    if (field.key != "metadata") continue;
    simdjson::dom::object metadata;
    if (field.value.get_object().get(metadata)) return std::nullopt;
    for (const auto member : metadata) {
      std::string* out = member.key == "uid"         ? &event.uid
                         : member.key == "namespace" ? &event.namespace_name
                         : member.key == "name"      ? &event.name
                                                     : nullptr;
      if (out != nullptr) {
        std::string_view text;
        if (member.value.get_string().get(text)) return std::nullopt;
        out->assign(text);
      } else if (member.key == "labels") {
        ++label_maps;
        simdjson::dom::object labels;
        if (member.value.get_object().get(labels)) return std::nullopt;
        for (const auto label : labels) {
          std::string_view text;
          // Not read when labels are not kept; a pod that kept them would not have been read.
          if (label.value.get_string().get(text)) {
            event.labels_exact = false;
            continue;
          }
          event.labels.emplace_back(std::string(label.key), std::string(text));
        }
      }
    }
  }
  std::sort(event.labels.begin(), event.labels.end());
  for (size_t i = 1; i < event.labels.size(); ++i) {
    if (event.labels[i - 1].first == event.labels[i].first) event.labels_exact = false;
  }
  if (label_maps > 1) event.labels_exact = false;
  return event;
}

// The pods the events left, as far as known: the cache is checked against it.
struct Model {
  std::map<std::string, std::pair<std::string, std::string>> live;  // uid → namespace, name
  std::set<std::pair<std::string, std::string>> names_seen;
  bool exact = true;  // every applied event was understood by the reference reader
};

void check_pod(const PodCache& cache, const PodExtractOptions& options, const ReferenceEvent& event,
               const ObjectHead& head) {
  const PodPtr by_uid = cache.find_uid(event.uid);
  FUZZ_CHECK(by_uid != nullptr);
  FUZZ_CHECK(!by_uid->deleted);
  FUZZ_CHECK(by_uid->uid == event.uid);
  FUZZ_CHECK(by_uid->namespace_name == event.namespace_name);
  FUZZ_CHECK(by_uid->name == event.name);
  FUZZ_CHECK(by_uid->resource_version == head.resource_version);
  if (options.labels && event.labels_exact) FUZZ_CHECK(by_uid->labels == event.labels);
  if (!options.labels) FUZZ_CHECK(by_uid->labels.empty());
  // The pod just written is the one of its name.
  FUZZ_CHECK(cache.find(event.namespace_name, event.name) == by_uid);
}

void check_cache(const PodCache& cache, const Model& model) {
  if (!model.exact) return;
  FUZZ_CHECK(cache.size() == model.live.size());
  FUZZ_CHECK(cache.deleted_size() == 0);  // nothing pins a pod here
  for (const auto& [uid, name] : model.live) {
    const PodPtr pod = cache.find_uid(uid);
    FUZZ_CHECK(pod != nullptr && pod->namespace_name == name.first && pod->name == name.second);
    const PodPtr named = cache.find(name.first, name.second);
    FUZZ_CHECK(named != nullptr);
    FUZZ_CHECK(named->namespace_name == name.first && named->name == name.second);
  }
  for (const auto& [namespace_name, name] : model.names_seen) {
    const PodPtr named = cache.find(namespace_name, name);
    if (named == nullptr) continue;
    FUZZ_CHECK(named->namespace_name == namespace_name && named->name == name);
    FUZZ_CHECK(model.live.contains(named->uid));
  }
}

// One line as ResourceWatch::on_event takes it; false ends the stream (an unreadable event, an
// ERROR).
class EventReader {
 public:
  EventReader(PodCache& cache, const PodExtractOptions& options, Model& model)
      : cache_(cache), options_(options), target_(cache, options), model_(model) {}

  bool operator()(std::string_view line) {
    std::string type;
    ObjectHead head;
    std::string error;
    if (!read_watch_event(parser_, padded_copy_, line, target_, &type, &head, &error)) {
      FUZZ_CHECK(!error.empty());
      return false;
    }
    FUZZ_CHECK(error.empty());
    const std::optional<ReferenceEvent> reference = reference_event(line);
    if (reference) FUZZ_CHECK(type == reference->type);
    if (type == "ERROR") return false;
    if (type != "ADDED" && type != "MODIFIED" && type != "DELETED") return true;
    target_.apply(type);
    if (!reference) {
      // Accepted by the on-demand reader but not valid JSON to the DOM one (it validates what
      // on-demand skips): the pod is unknown to the model from here on.
      model_.exact = false;
      return true;
    }
    if (reference->uid.empty()) return true;  // not applied: the cache finds pods by uid
    model_.names_seen.emplace(reference->namespace_name, reference->name);
    if (type == "DELETED") {
      FUZZ_CHECK(cache_.find_uid(reference->uid) == nullptr);
      model_.live.erase(reference->uid);
    } else {
      check_pod(cache_, options_, *reference, head);
      model_.live[reference->uid] = {reference->namespace_name, reference->name};
    }
    return true;
  }

 private:
  PodCache& cache_;
  const PodExtractOptions& options_;
  PodWatchTarget target_;
  Model& model_;
  simdjson::ondemand::parser parser_;
  std::string padded_copy_;
};

}  // namespace
}  // namespace sluice::kube

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::kube;
  if (size < 2) return 0;
  const uint8_t seed = data[0];
  const uint8_t choice = data[1];
  const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
  const size_t cap = kCaps[(choice >> 2) & 7];
  const std::vector<size_t> sizes = read_sizes(body.size(), seed, choice & 3);

  // The splitting alone: every line, whatever the reads.
  const ReferenceLines reference = reference_split(body, cap);
  std::vector<std::string> lines;
  const Feed fed = split_in_reads(body, sizes, cap, &lines, [](std::string_view) { return true; });
  FUZZ_CHECK((fed == Feed::TooLong) == reference.too_long);
  FUZZ_CHECK(lines.size() == reference.lines.size());
  FUZZ_CHECK(std::equal(lines.begin(), lines.end(), reference.lines.begin()));

  // The events: the stream ends at the first line the reader refuses.
  PodExtractOptions options;
  options.labels = (choice & 32) != 0;
  options.hints = (choice & 64) != 0;
  PodCache cache;
  Model model;
  EventReader reader(cache, options, model);
  std::vector<std::string> read;
  const Feed events_fed = split_in_reads(body, sizes, cap, &read, reader);
  FUZZ_CHECK(read.size() <= lines.size());
  FUZZ_CHECK(std::equal(read.begin(), read.end(), lines.begin()));
  if (events_fed == Feed::Stopped) {
    FUZZ_CHECK(!read.empty());
  } else {
    // Not stopped by the reader: it saw every line (the last one perhaps only at the end).
    FUZZ_CHECK(read.size() == lines.size());
  }
  check_cache(cache, model);
  return 0;
}
