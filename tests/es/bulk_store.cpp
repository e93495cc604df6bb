#include "bulk_store.hpp"

#include <locale.h>
#include <wctype.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

namespace es_emu {

namespace {

constexpr size_t kMaxIdBytes = 512;         // ES: "must be no longer than 512 bytes"
constexpr size_t kMaxIndexNameBytes = 255;  // ES: "index name is too long"
constexpr std::string_view kShards = R"("_shards":{"total":2,"successful":1,"failed":0})";

bool is_blank(std::string_view s) {
  for (char ch : s) {
    if (ch != ' ' && ch != '\t' && ch != '\r') return false;
  }
  return true;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string base64url(const uint8_t* data, size_t n) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

// The first key that an object of `el` (at any depth) repeats, or empty. Elasticsearch parses
// sources with Jackson's strict duplicate detection and refuses such a document with
// "Duplicate field 'a'". Keys compare unescaped, as Jackson compares them.
std::optional<std::string> duplicate_field(const simdjson::dom::element& el) {
  simdjson::dom::object object;
  simdjson::dom::array array;
  if (el.get_object().get(object) == simdjson::SUCCESS) {
    std::unordered_set<std::string_view> keys;
    for (auto field : object) {
      if (!keys.insert(field.key).second) return std::string(field.key);
      if (auto inner = duplicate_field(field.value)) return inner;
    }
  } else if (el.get_array().get(array) == simdjson::SUCCESS) {
    for (auto item : array) {
      if (auto inner = duplicate_field(item)) return inner;
    }
  }
  return std::nullopt;
}

// The token kind simdjson saw, named as Elasticsearch's parser names it in its messages.
std::string_view token_name(const simdjson::dom::element& el) {
  switch (el.type()) {
    case simdjson::dom::element_type::ARRAY:
      return "START_ARRAY";
    case simdjson::dom::element_type::OBJECT:
      return "START_OBJECT";
    case simdjson::dom::element_type::STRING:
      return "VALUE_STRING";
    case simdjson::dom::element_type::BOOL:
      return "VALUE_BOOLEAN";
    case simdjson::dom::element_type::NULL_VALUE:
      return "VALUE_NULL";
    default:
      return "VALUE_NUMBER";
  }
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20) {
          std::array<char, 8> buf{};
          std::snprintf(buf.data(), buf.size(), "\\u%04x", u);
          out += buf.data();
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

std::string error_body(int status, std::string_view type, std::string_view reason) {
  std::string cause = R"({"type":)";
  append_json_string(cause, type);
  cause += R"(,"reason":)";
  append_json_string(cause, reason);
  std::string out = R"({"error":{"root_cause":[)" + cause + "}]," + cause.substr(1) +
                    R"(},"status":)" + std::to_string(status) + "}";
  return out;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative matcher with one backtrack point: linear enough for index names.
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;
  size_t mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// Elasticsearch checks `index.toLowerCase(Locale.ROOT).equals(index)`: every character, not only
// ASCII. Unicode's lowercase mapping here is glibc's (the C.UTF-8 locale); bytes that are not
// UTF-8 are left to the JSON parser, which refused them already.
bool unchanged_by_lowercase(std::string_view name) {
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
  for (size_t i = 0; i < name.size();) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x80) {
      if (c >= 'A' && c <= 'Z') return false;
      ++i;
      continue;
    }
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (i + len > name.size()) return true;
    uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < len; ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(name[i + k]) & 0x3F);
    if (utf8 != locale_t{} &&
        towlower_l(static_cast<wint_t>(cp), utf8) != static_cast<wint_t>(cp)) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string invalid_index_reason(std::string_view name) {
  // The rules and wording of MetadataCreateIndexService.validateIndexOrAliasName.
  auto invalid = [&](std::string_view why) {
    return "Invalid index name [" + std::string(name) + "], " + std::string(why);
  };
  for (char c : name) {
    if (std::string_view("\\/*?\"<>| ,").find(c) != std::string_view::npos) {
      return invalid(R"(must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?])");
    }
  }
  if (name.find('#') != std::string_view::npos) return invalid("must not contain '#'");
  if (name.find(':') != std::string_view::npos) return invalid("must not contain ':'");
  if (name.front() == '_' || name.front() == '-' || name.front() == '+') {
    return invalid("must not start with '_', '-', or '+'");
  }
  if (name == "." || name == "..") return invalid("must not be '.' or '..'");
  if (name.size() > kMaxIndexNameBytes) {
    return invalid("index name is too long, (" + std::to_string(name.size()) + " > 255)");
  }
  if (!unchanged_by_lowercase(name)) return invalid("must be lowercase");
  return {};
}

struct BulkStore::Action {
  std::string op;  // index | create | delete | update
  std::string index;
  std::string id;
  bool has_id = false;
};

BulkStore::BulkStore(std::vector<std::string> data_stream_patterns, uint64_t seed)
    : data_stream_patterns_(std::move(data_stream_patterns)), rng_(seed) {}

bool BulkStore::roll(double p) { return p > 0 && unit_(rng_) < p; }

BulkStore::IndexState& BulkStore::index_state(const std::string& name) {
  auto [it, inserted] = indices_.try_emplace(name);
  if (inserted) {
    std::array<uint8_t, 16> raw{};
    for (auto& b : raw) b = static_cast<uint8_t>(rng_());
    it->second.uuid = base64url(raw.data(), raw.size());
  }
  return it->second;
}

std::string BulkStore::generate_id() {
  // ES auto ids are 20 characters of base64url (15 bytes); a counter makes them unique here.
  std::array<uint8_t, 15> raw{};
  uint64_t n = ++id_counter_;
  for (int i = 0; i < 8; ++i) raw[i] = static_cast<uint8_t>(n >> (56 - 8 * i));
  uint64_t r = rng_();
  for (int i = 8; i < 15; ++i) raw[i] = static_cast<uint8_t>(r >> (8 * (i - 8)));
  return base64url(raw.data(), raw.size());
}

bool BulkStore::is_data_stream(std::string_view index) const {
  for (const auto& pattern : data_stream_patterns_) {
    if (glob_match(pattern, index)) return true;
  }
  return false;
}

std::string BulkStore::backing_index(const std::string& stream) {
  // A data stream writes into its hidden backing index `.ds-<stream>-<creation date>-000001`;
  // bulk responses name the backing index, as Elasticsearch's do.
  auto [it, inserted] = backing_.try_emplace(stream);
  if (inserted) {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::array<char, 16> date{};
    std::strftime(date.data(), date.size(), "%Y.%m.%d", &tm);
    it->second = ".ds-" + stream + "-" + date.data() + "-000001";
  }
  return it->second;
}

namespace {

// Parses one action/metadata line. Errors are whole-request 400s, as in Elasticsearch (its
// BulkRequestParser throws before any item runs).
bool parse_action(simdjson::dom::parser& parser, std::string_view line, size_t line_no,
                  std::string_view default_index, std::string& op, std::string& index,
                  std::string& id, bool& has_id, std::string& error) {
  const std::string where = "line [" + std::to_string(line_no) + "]";
  simdjson::dom::element el;
  if (parser.parse(line.data(), line.size()).get(el) != simdjson::SUCCESS) {
    error = "Malformed action/metadata " + where + ", expected START_OBJECT but found [" +
            std::string(line.substr(0, 40)) + "]";
    return false;
  }
  simdjson::dom::object obj;
  if (el.get_object().get(obj) != simdjson::SUCCESS) {
    error = "Malformed action/metadata " + where + ", expected START_OBJECT but found [" +
            std::string(token_name(el)) + "]";
    return false;
  }
  if (obj.size() != 1) {
    error = "Malformed action/metadata " + where +
            (obj.size() == 0 ? ", expected FIELD_NAME but found [END_OBJECT]"
                             : ", expected END_OBJECT but found [FIELD_NAME]");
    return false;
  }
  auto field = *obj.begin();
  op = std::string(field.key);
  if (op != "index" && op != "create" && op != "delete" && op != "update") {
    error = "Malformed action/metadata " + where +
            ", expected field [create, delete, index, update] but found [" + op + "]";
    return false;
  }
  simdjson::dom::object metadata;
  if (field.value.get_object().get(metadata) != simdjson::SUCCESS) {
    error = "Malformed action/metadata " + where + ", expected START_OBJECT but found [" +
            std::string(token_name(field.value)) + "]";
    return false;
  }
  bool has_index = false;
  for (auto meta : metadata) {
    std::string_view key = meta.key;
    if (key == "_index" || key == "_id") {
      std::string_view value;
      if (meta.value.get_string().get(value) != simdjson::SUCCESS) {
        error =
            "Malformed action/metadata " + where + ", [" + std::string(key) + "] must be a string";
        return false;
      }
      if (key == "_index") {
        index = std::string(value);
        has_index = true;
      } else {
        id = std::string(value);
        has_id = true;
      }
    } else if (key == "op_type" && op == "index") {
      std::string_view value;
      if (meta.value.get_string().get(value) != simdjson::SUCCESS ||
          (value != "index" && value != "create")) {
        error = "opType must be 'create' or 'index', found: [" + std::string(line) + "]";
        return false;
      }
      op = std::string(value);
    } else if (key != "routing" && key != "pipeline" && key != "require_alias" &&
               key != "require_data_stream" && key != "dynamic_templates" && key != "if_seq_no" &&
               key != "if_primary_term" && key != "version" && key != "version_type" &&
               key != "retry_on_conflict" && key != "_source" && key != "list_executed_pipelines") {
      error =
          "Action/metadata " + where + " contains an unknown parameter [" + std::string(key) + "]";
      return false;
    }
  }
  if (!has_index) index = std::string(default_index);
  return true;
}

}  // namespace

Answer BulkStore::bulk(std::string_view body, std::string_view default_index, double reject_429,
                       Counters& counters) {
  auto start = std::chrono::steady_clock::now();
  if (body.empty() || is_blank(body)) {
    return {400, error_body(400, "action_request_validation_exception",
                            "Validation Failed: 1: no requests added;")};
  }
  constexpr std::string_view kNewline = "The bulk request must be terminated by a newline [\\n]";
  if (body.back() != '\n') return {400, error_body(400, "illegal_argument_exception", kNewline)};

  // Pass 1: the whole body is parsed before any item runs, so a malformed request stores
  // nothing (Elasticsearch parses the BulkRequest completely before executing it).
  struct Op {
    Action action;
    std::string_view source;
  };
  std::vector<Op> ops;
  size_t pos = 0;
  size_t line_no = 0;
  auto next_line = [&] {
    size_t nl = body.find('\n', pos);
    std::string_view line = body.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    return line;
  };
  while (pos < body.size()) {
    std::string_view line = next_line();
    if (is_blank(line)) continue;
    Op op;
    std::string error;
    if (!parse_action(parser_, line, line_no, default_index, op.action.op, op.action.index,
                      op.action.id, op.action.has_id, error)) {
      return {400, error_body(400, "illegal_argument_exception", error)};
    }
    if (op.action.op != "delete") {
      if (pos >= body.size()) {
        return {400, error_body(400, "illegal_argument_exception", kNewline)};
      }
      op.source = next_line();
    }
    ops.push_back(std::move(op));
  }
  if (ops.empty()) {
    return {400, error_body(400, "action_request_validation_exception",
                            "Validation Failed: 1: no requests added;")};
  }

  // Pass 2: every item on its own; one failing does not affect the others.
  std::string items;
  items.reserve(ops.size() * 200);
  bool errors = false;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (i > 0) items.push_back(',');
    if (!execute(ops[i].action, ops[i].source, reject_429, counters, items)) errors = true;
  }
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
  std::string out = R"({"took":)" + std::to_string(took) +
                    (errors ? R"(,"errors":true,"items":[)" : R"(,"errors":false,"items":[)");
  out += items;
  out += "]}";
  return {200, std::move(out)};
}

bool BulkStore::execute(const Action& a, std::string_view source, double reject_429,
                        Counters& counters, std::string& items) {
  ++counters.bulk_items;
  if (a.op == "index") ++counters.action_index;
  if (a.op == "create") ++counters.action_create;
  if (a.op == "delete") ++counters.action_delete;
  if (a.op == "update") ++counters.action_update;

  const bool stream = !a.index.empty() && is_data_stream(a.index);
  const std::string shown_index = stream ? backing_index(a.index) : a.index;
  auto open = [&](std::string_view id, bool known_id) {
    items += "{\"" + a.op + R"(":{"_index":)";
    if (a.index.empty()) {
      items += "null";
    } else {
      append_json_string(items, shown_index);
    }
    items += R"(,"_id":)";
    if (known_id) {
      append_json_string(items, id);
    } else {
      items += "null";
    }
  };
  auto fail = [&](int status, std::string_view type, std::string_view reason) {
    open(a.id, a.has_id);
    items += R"(,"status":)" + std::to_string(status) + R"(,"error":{"type":)";
    append_json_string(items, type);
    items += R"(,"reason":)";
    append_json_string(items, reason);
    if (!a.index.empty()) {
      items += R"(,"index_uuid":)";
      append_json_string(items, indices_.count(shown_index) ? indices_[shown_index].uuid : "_na_");
      if (status == 409) items += R"(,"shard":"0")";
      items += R"(,"index":)";
      append_json_string(items, shown_index);
    }
    items += "}}}";
    if (status == 400) ++counters.items_400;
    if (status == 409) ++counters.items_409;
    if (status == 429) ++counters.items_429;
    return false;
  };
  auto succeed = [&](const std::string& id, IndexState& st, uint64_t version,
                     std::string_view result, int status) {
    open(id, true);
    items += R"(,"_version":)" + std::to_string(version) + R"(,"result":")" + std::string(result) +
             "\"," + std::string(kShards) + R"(,"_seq_no":)" + std::to_string(st.seq_no++) +
             R"(,"_primary_term":1,"status":)" + std::to_string(status) + "}}";
    return true;
  };

  // Request validation (ActionRequestValidationException): before routing to a shard.
  if (a.index.empty()) {
    return fail(400, "action_request_validation_exception",
                "Validation Failed: 1: index is missing;");
  }
  if (a.has_id && a.id.size() > kMaxIdBytes) {
    return fail(400, "action_request_validation_exception",
                "Validation Failed: 1: id [" + a.id + "] is too long, must be no longer than " +
                    "512 bytes but was: " + std::to_string(a.id.size()) + ";");
  }
  if (a.op == "delete" && !a.has_id) {
    return fail(400, "action_request_validation_exception", "Validation Failed: 1: id is missing;");
  }
  if (std::string why = invalid_index_reason(a.index); !why.empty()) {
    return fail(400, "invalid_index_name_exception", why);
  }
  if (a.op == "update") {
    // Partial updates need the stored document merged with a script or `doc`; sluice only
    // ever sends index/create, so the emulator answers them as an unsupported operation.
    return fail(400, "illegal_argument_exception",
                "the _bulk emulator does not support the update action");
  }
  if (stream && a.op != "create") {
    return fail(400, "illegal_argument_exception",
                "only write ops with an op_type of create are allowed in data streams");
  }
  // The write thread pool's queue is full: the item is rejected before it is parsed.
  if (roll(reject_429)) {
    return fail(429, "es_rejected_execution_exception",
                "rejected execution of coordinating operation [coordinating_and_primary_bytes=" +
                    std::to_string(source.size()) +
                    ", replica_bytes=0, all_bytes=0, max_coordinating_and_primary_bytes=0]");
  }

  IndexState& st = index_state(shown_index);
  if (a.op == "delete") {
    auto it = st.ids.find(a.id);
    if (it == st.ids.end() || !it->second.live) {
      uint64_t version = it == st.ids.end() ? 1 : ++it->second.version;
      ++counters.items_404;
      return succeed(a.id, st, version, "not_found", 404);
    }
    it->second.live = false;
    docs_[it->second.pos].live = false;
    --live_;
    ++counters.deleted;
    return succeed(a.id, st, ++it->second.version, "deleted", 200);
  }

  // The source: one JSON object (ES 8 names the failure document_parsing_exception; 7.x said
  // mapper_parsing_exception).
  simdjson::dom::element doc;
  if (auto err = parser_.parse(source.data(), source.size()).get(doc); err) {
    return fail(400, "document_parsing_exception",
                std::string("[1:1] failed to parse: ") + simdjson::error_message(err));
  }
  if (!doc.is_object()) {
    return fail(400, "document_parsing_exception",
                "[1:1] failed to parse: Root object must be an object, found [" +
                    std::string(token_name(doc)) + "]");
  }
  if (auto key = duplicate_field(doc)) {
    return fail(400, "document_parsing_exception",
                "[1:1] failed to parse: Duplicate field '" + *key + "'");
  }
  if (stream && doc["@timestamp"].error() != simdjson::SUCCESS) {
    return fail(400, "document_parsing_exception",
                "[1:1] failed to parse: data stream timestamp field [@timestamp] is missing");
  }

  std::string id = a.has_id ? a.id : generate_id();
  if (std::string why = map_document(st.mapping, doc.get_object().value_unsafe(), id);
      !why.empty()) {
    return fail(400, "document_parsing_exception", why);
  }
  auto [it, inserted] = st.ids.try_emplace(id);
  IdState& ids = it->second;
  if (!inserted && ids.live) {
    if (a.op == "create") {
      return fail(409, "version_conflict_engine_exception",
                  "[" + id + "]: version conflict, document already exists (current version [" +
                      std::to_string(ids.version) + "])");
    }
    docs_[ids.pos].source = std::string(trim_right(source));
    ++counters.updated;
    return succeed(id, st, ++ids.version, "updated", 200);
  }
  ids.pos = docs_.size();
  ids.live = true;
  docs_.push_back({shown_index, id, std::string(trim_right(source)), true});
  ++live_;
  ++counters.created;
  return succeed(id, st, ++ids.version, "created", 201);
}

std::string BulkStore::docs_ndjson() const {
  std::string out;
  for (const auto& d : docs_) {
    if (!d.live) continue;
    out += R"({"_index":)";
    append_json_string(out, d.index);
    out += R"(,"_id":)";
    append_json_string(out, d.id);
    out += R"(,"_source":)";
    out += d.source;
    out += "}\n";
  }
  return out;
}

}  // namespace es_emu
