// The `file` sink's configuration: YAML options → FileSinkOptions, checked before running.
#include "sinks/file/file_sink.hpp"

#include "options/build_context.hpp"
#include "options/components.hpp"

namespace sluice {

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

}  // namespace sluice
