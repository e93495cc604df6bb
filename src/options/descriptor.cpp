#include "options/descriptor.hpp"

#include <cctype>

#include "options/config_error.hpp"

namespace sluice {

std::string_view option_type_name(OptionType type) {
  switch (type) {
    case OptionType::String:
      return "string";
    case OptionType::Bool:
      return "bool";
    case OptionType::Integer:
      return "integer";
    case OptionType::Number:
      return "number";
    case OptionType::Size:
      return "size";
    case OptionType::Duration:
      return "duration";
    case OptionType::Enum:
      return "enum";
    case OptionType::List:
      return "list";
    case OptionType::Map:
      return "map";
    case OptionType::Template:
      return "template";
    case OptionType::Regex:
      return "regex";
    case OptionType::Mapping:
      return "mapping";
  }
  return "?";
}

std::string_view component_kind_name(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::Source:
      return "source";
    case ComponentKind::Transform:
      return "transform";
    case ComponentKind::Sink:
      return "sink";
  }
  return "?";
}

OptionSchema::OptionSchema(std::string owner, std::vector<std::span<const OptionSpec>> lists)
    : owner_(std::move(owner)), lists_(std::move(lists)) {}

const OptionSpec* OptionSchema::find(std::string_view key) const {
  for (const auto& list : lists_) {
    for (const OptionSpec& spec : list) {
      if (spec.key == key) return &spec;
      for (const std::string& alias : spec.aliases) {
        if (alias == key) return &spec;
      }
    }
  }
  return nullptr;
}

std::vector<std::string> OptionSchema::keys_and_aliases() const {
  std::vector<std::string> out;
  for (const auto& list : lists_) {
    for (const OptionSpec& spec : list) {
      out.push_back(spec.key);
      out.insert(out.end(), spec.aliases.begin(), spec.aliases.end());
    }
  }
  return out;
}

std::string ComponentDescriptor::qualified_name() const {
  return std::string(component_kind_name(kind)) + "/" + type;
}

OptionSchema ComponentDescriptor::schema() const {
  return OptionSchema(qualified_name(), {shared_options(kind), options});
}

namespace {

// `type` and, downstream of sources, `inputs`: read by config/topology.cpp for every component.
OptionSpec type_option() {
  return {.key = "type",
          .type = OptionType::String,
          .description = "the component type (`sluice list` shows them all)",
          .required = true};
}

OptionSpec inputs_option() {
  return {.key = "inputs",
          .type = OptionType::List,
          .description = "names of the sources and transforms whose events this one receives",
          .required = true};
}

std::vector<OptionSpec> multiline_options() {
  return {
      {.key = "mode",
       .type = OptionType::Enum,
       .default_shown = "custom with a pattern",
       .description = "java, python or go (built-in record shapes), auto (lines without a time "
                      "continue the one before, once most lines start with one) or custom (the "
                      "two patterns)",
       .choices = {"java", "python", "go", "auto", "custom"}},
      {.key = "start_pattern",
       .type = OptionType::Regex,
       .description = "`mode: custom`: a line matching it starts a record"},
      {.key = "continue_pattern",
       .type = OptionType::Regex,
       .description = "`mode: custom`: a line matching it continues the record (with only "
                      "`start_pattern`, every line that does not match it continues)"},
      {.key = "flush_after",
       .type = OptionType::Duration,
       .default_shown = "1s",
       .description = "a record is handed on once no line has arrived for this long (at least "
                      "1ms; end of input hands it on at once)"},
      {.key = "max_lines",
       .type = OptionType::Integer,
       .default_shown = "500",
       .description = "a longer record is handed on at the limit; the rest starts a new one"},
      {.key = "max_bytes",
       .type = OptionType::Size,
       .default_shown = "1MiB",
       .description = "a larger record is handed on at the limit; the rest starts a new one"},
  };
}

std::vector<OptionSpec> source_options() {
  // Parsing options are reloadable: the parser keeps no state between lines.
  return {
      type_option(),
      {.key = "max_line_bytes",
       .type = OptionType::Size,
       .default_shown = "1MiB",
       .description = "longer lines are split and tagged `split` (at least 16)"},
      {.key = "multiline",
       .type = OptionType::Enum,
       .description = "joins the lines of one record into one event: `java`, `python`, `go`, "
                      "`auto`, or the mapping below (see Multiline records)",
       .choices = {"java", "python", "go", "auto", "custom"},
       .nested = multiline_options()},
      {.key = "parser",
       .type = OptionType::Enum,
       .default_shown = "auto",
       .description = "`auto`: a JSON object if the line is one, else logfmt if it starts with a "
                      "`key=value` pair, else plain text with its own time and level where the "
                      "layout is a known one (see Plain-text lines); `text`: only the latter; "
                      "`syslog`, `clf`, `klog`, `logcat`: that format (see Named parsers)",
       .choices = {"auto", "json", "logfmt", "regex", "none", "text", "syslog", "clf", "klog",
                   "logcat"},
       .reloadable = true},
      {.key = "pattern",
       .type = OptionType::Regex,
       .description = "RE2 with named groups, for `parser: regex`",
       .reloadable = true},
      {.key = "target",
       .type = OptionType::String,
       .description = "nest parsed fields under this key instead of the top level; not "
                      "`@timestamp`",
       .reloadable = true},
      {.key = "keep_raw",
       .type = OptionType::Bool,
       .default_shown = "false",
       .description = "also keep the line as `event.original`",
       .reloadable = true},
      {.key = "timestamp_field",
       .type = OptionType::List,
       .default_shown = "@timestamp, timestamp, time, ts, t, date",
       .description = "the field (or fields, first found wins) holding the event's time",
       .reloadable = true},
      {.key = "timezone",
       .type = OptionType::String,
       .default_shown = "UTC",
       .description = "IANA name for times written without an offset",
       .reloadable = true},
  };
}

std::vector<OptionSpec> buffer_options() {
  return {
      {.key = "type",
       .type = OptionType::Enum,
       .default_shown = "memory",
       .description = "`memory`: a bounded queue; `disk`: a segmented log in "
                      "`<data_dir>/buffers/<sink>/`",
       .choices = {"memory", "disk"}},
      {.key = "max_bytes",
       .type = OptionType::Size,
       .default_shown = "8MiB (memory), 256MiB (disk)",
       .description = "the bound; a memory buffer also holds what the sink keeps in flight "
                      "(Elasticsearch: 30.5 MiB with its defaults)"},
      {.key = "when_full",
       .type = OptionType::Enum,
       .default_shown = "block",
       .description = "`block` applies backpressure up to the source; `drop_newest` discards "
                      "what does not fit, counted and logged (rate-limited)",
       .choices = {"block", "drop_newest"}},
      {.key = "fsync",
       .type = OptionType::Enum,
       .default_shown = "interval",
       .description = "disk: when a record counts as stored: after fdatasync (`always`), at the "
                      "next periodic one (`interval`), once written (`never`)",
       .choices = {"always", "interval", "never"}},
      {.key = "fsync_interval",
       .type = OptionType::Duration,
       .default_shown = "1s",
       .description = "disk: how often `fsync: interval` syncs"},
      {.key = "segment_bytes",
       .type = OptionType::Size,
       .default_shown = "max_bytes/8, at most 32MiB",
       .description = "disk: segment size (at least 64KiB; `max_bytes` holds at least two)"},
  };
}

std::vector<OptionSpec> sink_options() {
  return {
      type_option(),
      inputs_option(),
      {.key = "buffer",
       .type = OptionType::Mapping,
       .description = "the sink's buffer (see Buffers and delivery guarantees)",
       .nested = buffer_options()},
  };
}

}  // namespace

const std::vector<OptionSpec>& shared_options(ComponentKind kind) {
  static const std::vector<OptionSpec> kSource = source_options();
  static const std::vector<OptionSpec> kTransform = {type_option(), inputs_option()};
  static const std::vector<OptionSpec> kSink = sink_options();
  switch (kind) {
    case ComponentKind::Source:
      return kSource;
    case ComponentKind::Transform:
      return kTransform;
    case ComponentKind::Sink:
      return kSink;
  }
  return kSink;
}

std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      // A path or name would end at the NUL in every C API it reaches, silently.
      if (out.back() == '\0') {
        throw ConfigError(std::string(kSinkUrlVariable) +
                          ": `%00` (a NUL byte) is not allowed in a URL");
      }
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace sluice
