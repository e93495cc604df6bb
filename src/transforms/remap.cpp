#include "transforms/remap.hpp"

#include "base/field_path.hpp"
#include "core/event_view.hpp"

namespace sluice {

namespace {

uint8_t meta_bit(std::string_view key) {
  if (key == "source") return kMetaSource;
  if (key == "stream") return kMetaStream;
  if (key == "host.name") return kMetaHost;
  if (key == "@timestamp") return kMetaTimestamp;
  return 0;
}

// Index of the live field named `key` among the event's fields, or -1.
int64_t find(const Batch& batch, const Event& event, std::string_view key) {
  for (uint32_t i = event.first_field; i < event.first_field + event.field_count; ++i) {
    const Field& f = batch.fields[i];
    if (f.key.data() != nullptr && f.key == key) return i;
  }
  return -1;
}

void remove_key(Batch& batch, Event& event, std::string_view key) {
  for (uint32_t i = event.first_field; i < event.first_field + event.field_count; ++i) {
    Field& f = batch.fields[i];
    if (f.key.data() != nullptr && f.key == key) f.key = std::string_view();
  }
}

}  // namespace

Value typed_scalar(std::string_view text, bool quoted) {
  if (!quoted) {
    if (text == "true" || text == "false") return Value{ValueKind::Bool, true, text};
    if (text == "null") return Value{ValueKind::Null, true, text};
    if (!text.empty()) {
      // A JSON number: -?digits(.digits)?([eE][+-]?digits)?
      size_t i = 0;
      auto digits = [&] {
        size_t start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
        return i > start;
      };
      if (text[i] == '-') ++i;
      bool ok = digits();
      if (ok && i < text.size() && text[i] == '.') {
        ++i;
        ok = digits();
      }
      if (ok && i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
        ok = digits();
      }
      // JSON forbids leading zeros ("007" stays a string).
      size_t d = text[0] == '-' ? 1 : 0;
      bool leading_zero =
          text.size() > d + 1 && text[d] == '0' && text[d + 1] >= '0' && text[d + 1] <= '9';
      if (ok && i == text.size() && !leading_zero) return Value{ValueKind::Number, true, text};
    }
  }
  return Value{ValueKind::String, false, text};
}

void RemapTransform::apply(Batch& batch, const SourceMeta& meta, std::span<const Event> in,
                           std::vector<Event>& out) const {
  for (const Event& original : in) {
    Event event = original;
    // A private copy of the field list, so the original event stays as it was.
    event.first_field = static_cast<uint32_t>(batch.fields.size());
    for (uint32_t i = original.first_field; i < original.first_field + original.field_count; ++i) {
      Field f = batch.fields[i];
      batch.fields.push_back(f);
    }
    event.field_count = original.field_count;

    for (const auto& [from, to] : options_.rename) {
      int64_t index = find(batch, event, from);
      Value value;
      if (index >= 0) {
        value = batch.fields[static_cast<size_t>(index)].value;
        batch.fields[static_cast<size_t>(index)].key = std::string_view();
      } else if (uint8_t bit = meta_bit(from); bit && !(event.hidden_meta & bit)) {
        EventView view(batch, event, meta);
        std::optional<Value> v = view.get(from);
        if (!v) continue;
        value = *v;
        event.hidden_meta |= bit;
      } else {
        continue;
      }
      remove_key(batch, event, to);
      // A field named like metadata replaces it: the output must not carry the name twice.
      event.hidden_meta |= meta_bit(to);
      batch.fields.push_back(Field{to, value});
      ++event.field_count;
    }
    for (const std::string& key : options_.remove) {
      remove_key(batch, event, key);
      event.hidden_meta |= meta_bit(key);
    }
    for (const auto& [key, value] : options_.add) {
      remove_key(batch, event, key);
      event.hidden_meta |= meta_bit(key);
      batch.fields.push_back(Field{key, value});
      ++event.field_count;
    }
    out.push_back(event);
  }
}

}  // namespace sluice

#include "options/components.hpp"
#include "options/descriptor.hpp"

namespace sluice {

namespace {

// A field name as remap reads it: the key itself, or with a double-quoted segment
// (`"a.b"`, `labels."app.kubernetes.io/name"`), that path's segments joined by `.`.
std::string field_name(MapReader& config, const std::string& option, const std::string& name) {
  if (!has_quoted_segment(name)) return name;
  const FieldPathScan scan = scan_field_path(name);
  if (!scan.error.empty()) {
    config.fail(option, "`" + name + "`, at character " + std::to_string(scan.error_at + 1) + ": " +
                            scan.error);
  }
  if (scan.end != name.size()) {
    config.fail(option, "`" + name + "`: a field name with a quoted segment is a field path " +
                            "(letters, digits, `_`, `-`, `@`, `.` and double-quoted names)");
  }
  return flat_key_of_path(scan.canonical);
}

std::unique_ptr<Transform> make_remap_transform(MapReader& config, const std::string&) {
  RemapOptions options;
  auto keep = [&](const std::string& s) -> std::string_view {
    options.storage.push_back(std::make_unique<std::string>(s));
    return *options.storage.back();
  };
  for (const auto& [from, to] : config.string_map("rename")) {
    if (to.first.empty()) config.fail("rename", "`rename." + from + "` needs a new name");
    options.rename.emplace_back(field_name(config, "rename", from),
                                field_name(config, "rename", to.first));
  }
  for (const std::string& key : config.string_list("remove")) {
    options.remove.push_back(field_name(config, "remove", key));
  }
  for (const auto& [written, value] : config.string_map("add")) {
    const std::string key = field_name(config, "add", written);
    // string_map gives YAML null (`null`, `~`, nothing) as an unquoted empty string.
    bool yaml_null = value.first.empty() && !value.second;
    std::string_view text = keep(yaml_null ? std::string("null") : value.first);
    options.add.emplace_back(key, typed_scalar(text, value.second));
  }
  if (options.rename.empty() && options.remove.empty() && options.add.empty()) {
    config.fail_here("a remap needs at least one of `rename`, `remove`, `add`");
  }
  return std::make_unique<RemapTransform>(std::move(options));
}

}  // namespace

// A transform keeps no state between batches: every option may change on a reload.
const ComponentDescriptor& remap_transform_descriptor() {
  static const ComponentDescriptor descriptor{
      .kind = ComponentKind::Transform,
      .type = "remap",
      .summary = "renames, removes and adds fields (in that order)",
      .options =
          {
              {.key = "rename",
               .type = OptionType::Map,
               .description = "`{from: to}`",
               .reloadable = true},
              {.key = "remove",
               .type = OptionType::List,
               .description = "fields to remove",
               .reloadable = true},
              {.key = "add",
               .type = OptionType::Map,
               .description = "`{field: value}`: unquoted numbers, `true`/`false` and `null` are "
                              "JSON values, anything else strings",
               .reloadable = true},
          },
      .make_transform = &make_remap_transform,
  };
  return descriptor;
}

}  // namespace sluice
