// The `file` and `container` sources' configuration: YAML options → FileSourceOptions.
#include "sources/container/kube_options.hpp"
#include "sources/file/file_source.hpp"
#include "sources/file/glob.hpp"

#include "options/components.hpp"
#include "options/descriptor.hpp"

namespace sluice {

namespace {
FileSourceOptions read_file_options(MapReader& config, const SourceBuildContext& context,
                                    bool container) {
  FileSourceOptions o;
  o.name = context.name;
  o.data_dir = context.data_dir;
  o.include = config.string_list("include");
  if (o.include.empty()) {
    if (container) {
      o.include = {"/var/log/containers/*.log"};
    } else {
      config.fail_here("`include` is required: the files to tail, as glob patterns");
    }
  }
  o.exclude = config.string_list("exclude");
  o.read_from_end = config.choice<bool>("read_from", true, {{"end", true}, {"beginning", false}});
  o.lines_before_end =
      static_cast<uint64_t>(config.integer("lines_before_end", 0, 0, int64_t{1} << 40));
  o.glob_interval_ns = config.duration_ns("glob_interval", o.glob_interval_ns);
  if (o.glob_interval_ns < 10'000'000)
    config.fail("glob_interval", "`glob_interval` must be at least 10ms");
  o.max_open_files = static_cast<size_t>(config.integer("max_open_files", 1024, 1, 1 << 20));
  o.close_after_ns = config.duration_ns("close_after", o.close_after_ns);
  o.rotate_wait_ns = config.duration_ns("rotate_wait", o.rotate_wait_ns);
  o.checkpoints = config.boolean("checkpoints", true);
  o.checkpoint_interval_ns = config.duration_ns("checkpoint_interval", o.checkpoint_interval_ns);
  o.stop_at_eof = config.boolean("stop_at_eof", false);
  o.inotify = config.boolean("inotify", true);
  o.poll_interval_ns = config.duration_ns("poll_interval", o.poll_interval_ns);
  if (o.poll_interval_ns < 1'000'000)
    config.fail("poll_interval", "`poll_interval` must be at least 1ms");
  o.tail.framer = context.framer;
  o.parser = context.parser;
  o.tail.container = container;
  o.tail.read_budget = config.size("read_budget", o.tail.read_budget);
  if (o.tail.read_budget < 4096) config.fail("read_budget", "`read_budget` must be at least 4KiB");
  std::string error;
  if (!PathMatcher::create(o.include, o.exclude, &error)) config.fail("include", error);
  if (container) {
    MapReader kubernetes = config.sub("kubernetes");
    o.kube = std::make_shared<const kube::KubeOptions>(
        kube::read_kube_options(kubernetes, config.env()));
    kubernetes.finish();
  } else if (config.has("kubernetes")) {
    config.fail("kubernetes",
                "`kubernetes` is an option of `type: container` sources (container runtime "
                "logs), not of `type: file`");
  }
  return o;
}

std::unique_ptr<Source> make_file_source(MapReader& config, const SourceBuildContext& context) {
  return std::make_unique<FileSource>(read_file_options(config, context, false));
}

std::unique_ptr<Source> make_container_source(MapReader& config,
                                              const SourceBuildContext& context) {
  return std::make_unique<FileSource>(read_file_options(config, context, true));
}

// The options of both: `container` differs in `include`'s default and its `kubernetes` block.
std::vector<OptionSpec> file_options(bool container) {
  OptionSpec include{.key = "include",
                     .type = OptionType::List,
                     .description =
                         "glob patterns of the files to tail: `*`, `?`, `[a-z]`, "
                         "`{a,b}`, `**` for any depth"};
  if (container) {
    include.default_shown = "/var/log/containers/*.log";
  } else {
    include.required = true;
  }
  return {
      include,
      {.key = "exclude",
       .type = OptionType::List,
       .description = "globs; a pattern without `/` matches the base name, e.g. `*.gz`"},
      {.key = "read_from",
       .type = OptionType::Enum,
       .default_shown = "end",
       .description = "where files found at the very first start begin; files that appear "
                      "later, or while sluice was stopped, are always read from their beginning",
       .choices = {"end", "beginning"}},
      {.key = "lines_before_end",
       .type = OptionType::Integer,
       .default_shown = "0",
       .description = "with `read_from: end`, files found at the very first start begin this "
                      "many lines before their end, as `tail -n` does"},
      {.key = "glob_interval",
       .type = OptionType::Duration,
       .default_shown = "1s",
       .description = "rescan for new files (at least 10ms; inotify shows them sooner)"},
      {.key = "inotify",
       .type = OptionType::Bool,
       .default_shown = "true",
       .description = "`false` polls every `poll_interval` instead (network filesystems)"},
      {.key = "poll_interval",
       .type = OptionType::Duration,
       .default_shown = "250ms",
       .description = "how often files without an inotify watch are checked (at least 1ms)"},
      {.key = "rotate_wait",
       .type = OptionType::Duration,
       .default_shown = "5s",
       .description = "a file renamed or deleted is read until it has been quiet this long, "
                      "then closed"},
      {.key = "close_after",
       .type = OptionType::Duration,
       .default_shown = "5m",
       .description = "an idle file gives back its descriptor; a change reopens it"},
      {.key = "max_open_files",
       .type = OptionType::Integer,
       .default_shown = "1024",
       .description = "lowered to fit the open-files limit; see Resource limits"},
      {.key = "read_budget",
       .type = OptionType::Size,
       .default_shown = "512KiB",
       .description = "read from one file before the next gets a turn (at least 4KiB)"},
      {.key = "checkpoints",
       .type = OptionType::Bool,
       .default_shown = "true",
       .description = "remember per file how far every sink acknowledged"},
      {.key = "checkpoint_interval",
       .type = OptionType::Duration,
       .default_shown = "1s",
       .description = "how often checkpoints are saved"},
      {.key = "stop_at_eof",
       .type = OptionType::Bool,
       .default_shown = "false",
       .description = "read every file to its end, then finish"},
  };
}

std::vector<OptionSpec> container_options() {
  std::vector<OptionSpec> options = file_options(true);
  options.push_back({.key = "kubernetes",
                     .type = OptionType::Mapping,
                     .description = "pod metadata from the Kubernetes API server, per-pod hints, "
                                    "and which namespaces' files are read",
                     .nested = kube::kube_option_specs()});
  return options;
}

}  // namespace

const ComponentDescriptor& file_source_descriptor() {
  static const ComponentDescriptor descriptor{
      .kind = ComponentKind::Source,
      .type = "file",
      .summary = "tails files matched by globs, through rotation, with checkpoints",
      .options = file_options(false),
      .make_source = &make_file_source,
  };
  return descriptor;
}

const ComponentDescriptor& container_source_descriptor() {
  static const ComponentDescriptor descriptor{
      .kind = ComponentKind::Source,
      .type = "container",
      .summary = "a `file` source for container runtime logs (CRI, Docker json-file)",
      .options = container_options(),
      .make_source = &make_container_source,
  };
  return descriptor;
}

}  // namespace sluice
