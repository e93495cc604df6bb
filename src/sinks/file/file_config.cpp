// The `file` sink's configuration: YAML options → FileSinkOptions, checked before running.
#include "sinks/file/file_sink.hpp"

#include "options/build_context.hpp"
#include "options/components.hpp"
#include "options/config_error.hpp"
#include "options/descriptor.hpp"

namespace sluice {

namespace {

std::unique_ptr<Sink> make_file_sink(MapReader& config, const std::string& name,
                                     const BuildContext& context) {
  std::string path_text = config.required_string("path");
  std::string error;
  std::optional<Template> path = Template::parse(path_text, &error);
  if (!path) config.fail("path", error);
  // `..` after a placeholder could climb out of the directory a value was put in.
  bool after_placeholder = false;
  for (size_t begin = 0; begin <= path_text.size();) {
    size_t end = std::min(path_text.find('/', begin), path_text.size());
    std::string_view component = std::string_view(path_text).substr(begin, end - begin);
    if (after_placeholder && component == "..") {
      config.fail("path", "`..` after a `{{ field }}` or `%` field is not allowed in `path`");
    }
    for (size_t k = 0; k < component.size(); ++k) {
      if (component.compare(k, 2, "%%") == 0) {
        ++k;  // a literal percent sign
      } else if (component[k] == '%' || component.compare(k, 2, "{{") == 0) {
        after_placeholder = true;
      }
    }
    begin = end + 1;
  }
  FileSinkOptions options{name, context.data_dir, std::move(*path), EncodingSpec{},
                          FileWriterOptions{}};
  options.encoding.kind = config.choice<EncodingSpec::Kind>("encoding", EncodingSpec::Kind::Json,
                                                            {{"json", EncodingSpec::Kind::Json},
                                                             {"raw", EncodingSpec::Kind::Raw},
                                                             {"text", EncodingSpec::Kind::Text}});
  options.writer.compression = config.choice<Compression>(
      "compression", Compression::None,
      {{"none", Compression::None}, {"gzip", Compression::Gzip}, {"zstd", Compression::Zstd}});
  options.writer.compression_level =
      static_cast<int>(config.integer("compression_level", 0, 0, 22));
  MapReader rotate = config.sub("rotate");
  options.writer.max_bytes = rotate.size("max_bytes", 0);
  options.writer.rotate_interval_ns = rotate.duration_ns("interval", 0);
  rotate.finish();
  options.writer.fsync = config.choice<FileFsync>("fsync", FileFsync::Never,
                                                  {{"never", FileFsync::Never},
                                                   {"always", FileFsync::Always},
                                                   {"interval", FileFsync::Interval}});
  options.writer.fsync_interval_ns = config.duration_ns("fsync_interval", 1'000'000'000);
  options.max_open_files = static_cast<size_t>(config.integer("max_open_files", 64, 1, 100000));
  options.idle_close_ns = config.duration_ns("close_idle_after", 60'000'000'000);
  return std::make_unique<FileSink>(std::move(options));
}

// file:///abs/path.jsonl
void file_url_options(const SinkUrl& url, YAML::Node& options) {
  if (url.rest.empty() || url.rest[0] != '/') {
    throw ConfigError(std::string(kSinkUrlVariable) +
                      ": file URLs need an absolute path: file:///path/out.jsonl");
  }
  options["path"] = percent_decode(url.rest);
}

std::vector<OptionSpec> rotate_options() {
  return {
      {.key = "max_bytes",
       .type = OptionType::Size,
       .default_shown = "0 (never)",
       .description = "rotate once the current file holds this much; checked before each "
                      "batch of events is written, so a file can end one batch over it"},
      {.key = "interval",
       .type = OptionType::Duration,
       .default_shown = "0 (never)",
       .description = "rotate every interval"},
  };
}

}  // namespace

const ComponentDescriptor& file_sink_descriptor() {
  static const ComponentDescriptor descriptor{
      .kind = ComponentKind::Sink,
      .type = "file",
      .summary = "writes events to files named by a template, with rotation and compression",
      .options =
          {
              {.key = "path",
               .type = OptionType::Template,
               .description = "`{{ field }}` and `%Y %m %d %H %M %S %j %F %T %s` from "
                              "`@timestamp` (UTC); `..` after a placeholder is an error",
               .required = true},
              {.key = "encoding",
               .type = OptionType::Enum,
               .default_shown = "json",
               .description = "`json`, `raw` (the original line) or `text`",
               .choices = {"json", "raw", "text"}},
              {.key = "compression",
               .type = OptionType::Enum,
               .default_shown = "none",
               .description = "compresses each file",
               .choices = {"none", "gzip", "zstd"}},
              {.key = "compression_level",
               .type = OptionType::Integer,
               .default_shown = "0 (the codec's default)",
               .description = "0 to 22 (gzip: above 9 counts as 9)"},
              {.key = "rotate",
               .type = OptionType::Mapping,
               .description = "the current file is renamed to `name.<UTC time>.ext`",
               .nested = rotate_options()},
              {.key = "fsync",
               .type = OptionType::Enum,
               .default_shown = "never",
               .description = "`never`: acknowledged once written to the kernel; `always`: after "
                              "fdatasync; `interval`: at the next fsync, every `fsync_interval`",
               .choices = {"never", "always", "interval"}},
              {.key = "fsync_interval",
               .type = OptionType::Duration,
               .default_shown = "1s",
               .description = "how often `fsync: interval` syncs"},
              {.key = "max_open_files",
               .type = OptionType::Integer,
               .default_shown = "64",
               .description = "files kept open at once (1 to 100000)"},
              {.key = "close_idle_after",
               .type = OptionType::Duration,
               .default_shown = "60s",
               .description = "a file not written for this long is closed"},
          },
      .make_sink = &make_file_sink,
      .url =
          UrlSupport{.schemes = {"file"}, .to_options = &file_url_options, .at_sign_is_path = true},
  };
  return descriptor;
}

}  // namespace sluice
