// The `file` and `container` sources' configuration: YAML options → FileSourceOptions.
#include "sources/file/file_source.hpp"
#include "sources/file/glob.hpp"

#include "options/components.hpp"

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
  o.tail.container = container;
  o.tail.read_budget = config.size("read_budget", o.tail.read_budget);
  if (o.tail.read_budget < 4096) config.fail("read_budget", "`read_budget` must be at least 4KiB");
  std::string error;
  if (!PathMatcher::create(o.include, o.exclude, &error)) config.fail("include", error);
  return o;
}
}  // namespace

std::unique_ptr<Source> make_file_source(MapReader& config, const SourceBuildContext& context) {
  return std::make_unique<FileSource>(read_file_options(config, context, false));
}

std::unique_ptr<Source> make_container_source(MapReader& config,
                                              const SourceBuildContext& context) {
  return std::make_unique<FileSource>(read_file_options(config, context, true));
}

}  // namespace sluice
