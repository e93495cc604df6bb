#include "config/factory.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <thread>

#include "config/component_list.hpp"
#include "config/multiline_config.hpp"
#include "core/durable_file.hpp"
#include "options/components.hpp"
#include "options/map_reader.hpp"
#include "parse/timezone.hpp"

namespace sluice {

namespace {

// The descriptor of `decl`'s type, or a config error naming the known types of its kind.
const ComponentDescriptor& find_descriptor(ComponentKind kind, MapReader& reader,
                                           const ComponentDecl& decl) {
  if (const ComponentDescriptor* found = find_component(kind, decl.type)) return *found;
  std::vector<std::string> names = component_types(kind);
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  reader.fail("type", "unknown type `" + decl.type + "`" + suggestion(decl.type, names) +
                          "; known types: " + list);
}

// The component's mapping, read against its descriptor's schema.
MapReader component_reader(const ComponentDescriptor& descriptor, const ComponentDecl& decl,
                           const std::string& what, const EnvLookup& env) {
  return MapReader(decl.node, what, decl.file, env,
                   std::make_shared<const OptionSchema>(descriptor.schema()));
}

ParserOptions read_parser(MapReader& r) {
  ParserOptions p;
  p.kind = r.choice<ParserKind>("parser", ParserKind::Auto,
                                {{"auto", ParserKind::Auto},
                                 {"json", ParserKind::Json},
                                 {"logfmt", ParserKind::Logfmt},
                                 {"regex", ParserKind::Regex},
                                 {"none", ParserKind::None},
                                 {"syslog", ParserKind::Syslog},
                                 {"clf", ParserKind::Clf},
                                 {"klog", ParserKind::Klog},
                                 {"logcat", ParserKind::Logcat},
                                 {"text", ParserKind::Text}});
  p.pattern = r.string("pattern", "");
  if (!p.pattern.empty() && p.kind != ParserKind::Regex) {
    r.fail("pattern", "`pattern` is only used with `parser: regex`");
  }
  p.target = r.string("target", "");
  p.keep_raw = r.boolean("keep_raw", false);
  p.timestamp_fields = r.string_list("timestamp_field");
  if (auto zone = r.string("timezone")) {
    std::string error;
    p.zone = TimeZone::load(*zone, &error);
    if (!p.zone) r.fail("timezone", "unknown time zone `" + *zone + "`: " + error);
  }
  return p;
}

// What a live reload compares: the component's mapping as written (the environment does not
// change while sluice runs), and the global settings it is built with.
std::string fingerprint(const ComponentDecl& decl, const std::string& globals) {
  return YAML::Dump(decl.node) + "\n--\n" + globals;
}

}  // namespace

namespace {

constexpr int64_t kMemoryBufferDefault = int64_t{8} << 20;
constexpr int64_t kDiskBufferDefault = int64_t{256} << 20;
constexpr int64_t kSegmentDefault = int64_t{32} << 20;
constexpr int64_t kSegmentMin = int64_t{64} << 10;

// A sink's `buffer:` mapping. Returns true for `type: disk`.
bool read_buffer_options(MapReader& buffer, const std::string& sink_name,
                         const std::string& data_dir, SinkSpec& spec) {
  enum class Type { Memory, Disk };
  Type type =
      buffer.choice<Type>("type", Type::Memory, {{"memory", Type::Memory}, {"disk", Type::Disk}});
  spec.when_full =
      buffer.choice<WhenFull>("when_full", WhenFull::Block,
                              {{"block", WhenFull::Block}, {"drop_newest", WhenFull::DropNewest}});
  if (type == Type::Memory) {
    for (const char* key : {"fsync", "fsync_interval", "segment_bytes"}) {
      if (buffer.has(key)) buffer.fail(key, std::string("`") + key + "` needs `type: disk`");
    }
    spec.buffer_max_bytes = static_cast<int64_t>(buffer.size("max_bytes", kMemoryBufferDefault));
    buffer.finish();
    return false;
  }
  DiskBufferOptions disk;
  disk.max_bytes = static_cast<int64_t>(buffer.size("max_bytes", kDiskBufferDefault));
  disk.fsync = buffer.choice<FsyncPolicy>("fsync", FsyncPolicy::Interval,
                                          {{"always", FsyncPolicy::Always},
                                           {"interval", FsyncPolicy::Interval},
                                           {"never", FsyncPolicy::Never}});
  disk.fsync_interval_ns = buffer.duration_ns("fsync_interval", disk.fsync_interval_ns);
  if (disk.fsync_interval_ns <= 0) buffer.fail("fsync_interval", "`fsync_interval` must be > 0");
  // Segments are deleted whole: several of them must fit, or the buffer frees space in steps
  // too coarse to be useful.
  int64_t segment_default = std::clamp(disk.max_bytes / 8, kSegmentMin, kSegmentDefault);
  disk.segment_bytes = static_cast<int64_t>(buffer.size("segment_bytes", segment_default));
  if (disk.segment_bytes < kSegmentMin) {
    buffer.fail("segment_bytes", "`segment_bytes` must be at least 64KiB");
  }
  if (disk.max_bytes < 2 * disk.segment_bytes) {
    buffer.fail(buffer.has("segment_bytes") ? "segment_bytes" : "max_bytes",
                "a disk buffer's `max_bytes` must be at least twice its `segment_bytes` (" +
                    std::to_string(disk.segment_bytes) + " bytes)");
  }
  std::string dir = data_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  disk.dir = dir + "/buffers/" + component_file_name(sink_name);
  spec.disk = disk;
  spec.buffer_max_bytes = kMemoryBufferDefault;
  buffer.finish();
  return true;
}

}  // namespace

BuiltPipeline build_pipeline(const Topology& topology, const BuildContext& context) {
  BuiltPipeline built;
  MapReader globals(topology.root, "config", topology.file, context.env,
                    std::make_shared<const OptionSchema>(
                        "config", std::vector<std::span<const OptionSpec>>{top_level_options()}));
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  built.options.workers = static_cast<int>(globals.integer("workers", cores, 1, 256));
  std::string host_name = globals.string("host_name", context.host_name);
  std::string data_dir = globals.string("data_dir", context.data_dir);
  built.options.health_sink_grace_ns =
      globals.duration_ns("health_sink_grace", built.options.health_sink_grace_ns);
  if (data_dir.empty()) globals.fail("data_dir", "`data_dir` must not be empty");
  for (const char* section : {"sources", "transforms", "sinks"}) globals.sub(section);
  globals.finish();

  for (const ComponentDecl& decl : topology.sources) {
    std::string what = "source `" + decl.name + "`";
    MapReader untyped(decl.node, what, decl.file, context.env);
    if (untyped.has("inputs")) untyped.fail("inputs", "sources have no `inputs`");
    const ComponentDescriptor& type = find_descriptor(ComponentKind::Source, untyped, decl);
    MapReader r = component_reader(type, decl, what, context.env);
    r.string("type");
    FramerOptions framer;
    framer.max_line_bytes = r.size("max_line_bytes", framer.max_line_bytes);
    if (framer.max_line_bytes < 16)
      r.fail("max_line_bytes", "`max_line_bytes` must be at least 16");
    framer.multiline = read_multiline_options(r);
    ParserOptions parser_options = read_parser(r);
    bool keep_raw = parser_options.keep_raw;
    std::string error;
    auto parser = EventParser::create(parser_options, &error);
    if (!parser) r.fail(r.has("pattern") ? "pattern" : "parser", error);
    auto source = type.make_source(
        r, SourceBuildContext{decl.name, framer, data_dir, std::move(parser_options)});
    r.finish();
    built.sources.push_back(SourceSpec{decl.name, std::move(source), std::move(parser),
                                       SourceMeta{decl.name, host_name, keep_raw},
                                       fingerprint(decl, host_name + "\n" + data_dir)});
  }
  for (const ComponentDecl& decl : topology.transforms) {
    std::string what = "transform `" + decl.name + "`";
    MapReader untyped(decl.node, what, decl.file, context.env);
    const ComponentDescriptor& type = find_descriptor(ComponentKind::Transform, untyped, decl);
    MapReader r = component_reader(type, decl, what, context.env);
    r.string("type");
    r.string_list("inputs");
    auto transform = type.make_transform(r, decl.name);
    r.finish();
    built.transforms.push_back(
        TransformSpec{decl.name, std::move(transform), decl.inputs, fingerprint(decl, "")});
  }
  // Sinks keep state (dead-letter files) in the same data_dir as the sources.
  BuildContext sink_context = context;
  sink_context.data_dir = data_dir;
  for (const ComponentDecl& decl : topology.sinks) {
    std::string what = "sink `" + decl.name + "`";
    MapReader untyped(decl.node, what, decl.file, context.env);
    const ComponentDescriptor& type = find_descriptor(ComponentKind::Sink, untyped, decl);
    MapReader r = component_reader(type, decl, what, context.env);
    r.string("type");
    r.string_list("inputs");
    SinkSpec spec;
    spec.name = decl.name;
    spec.inputs = decl.inputs;
    spec.fingerprint = fingerprint(decl, data_dir);
    MapReader buffer = r.sub("buffer");
    bool disk = read_buffer_options(buffer, decl.name, data_dir, spec);
    spec.sink = type.make_sink(r, decl.name, sink_context);
    // Memory buffers, and the read-back of disk buffers, must hold what the sink keeps in flight
    // (Elasticsearch: `concurrency` requests plus one filling; Sink::buffer_bytes_needed()).
    if (disk || !buffer.has("max_bytes")) {
      spec.buffer_max_bytes = std::max(spec.buffer_max_bytes, spec.sink->buffer_bytes_needed());
    }
    r.finish();
    built.sinks.push_back(std::move(spec));
  }
  return built;
}

}  // namespace sluice
