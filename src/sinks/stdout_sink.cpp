#include "sinks/stdout_sink.hpp"

#include <cerrno>
#include <cstring>

#include "base/io.hpp"
#include "base/log.hpp"

namespace sluice {

void StdoutSink::consume(Delivery delivery) {
  if (!broken_ && !write_all(fd_, delivery.batch().data.view())) {
    broken_ = true;
    quiet_ = closed_output_is_normal_ && errno == EPIPE;
    // A closed stdout (the reader went away) cannot be retried; say so once, loudly.
    if (!quiet_) {
      log::error("stdout sink cannot write; further events to it are discarded", "error",
                 std::strerror(errno));
    }
  }
  if (broken_) discarded_ += delivery.batch().count();
  delivery.done();
}

void StdoutSink::shutdown() {
  if (discarded_ > 0 && !quiet_) {
    log::error("stdout sink discarded events after its output closed", "events", discarded_);
  }
}

}  // namespace sluice

#include "options/build_context.hpp"
#include "options/components.hpp"
#include "options/descriptor.hpp"

namespace sluice {

namespace {

std::unique_ptr<Sink> make_stdout_sink(MapReader& config, const std::string& name,
                                       const BuildContext& context) {
  EncodingSpec spec;
  spec.kind = config.choice<EncodingSpec::Kind>("encoding", EncodingSpec::Kind::Json,
                                                {{"json", EncodingSpec::Kind::Json},
                                                 {"text", EncodingSpec::Kind::Text},
                                                 {"raw", EncodingSpec::Kind::Raw}});
  enum class ColorMode { Auto, Always, Never };
  ColorMode color = config.choice<ColorMode>(
      "color", ColorMode::Auto,
      {{"auto", ColorMode::Auto}, {"always", ColorMode::Always}, {"never", ColorMode::Never}});
  spec.color = color == ColorMode::Always ||
               (color == ColorMode::Auto && context.stdout_is_tty && !context.no_color);
  return std::make_unique<StdoutSink>(spec);
}

}  // namespace

const ComponentDescriptor& stdout_sink_descriptor() {
  static const ComponentDescriptor descriptor{
      .kind = ComponentKind::Sink,
      .type = "stdout",
      .summary = "writes events to sluice's standard output, as JSON lines or readable text",
      .options =
          {
              {.key = "encoding",
               .type = OptionType::Enum,
               .default_shown = "json",
               .description = "`json` (one object per line), `text` (time, level, message, "
                              "fields) or `raw` (the original line)",
               .choices = {"json", "text", "raw"}},
              {.key = "color",
               .type = OptionType::Enum,
               .default_shown = "auto",
               .description = "`auto`: on when stdout is a terminal and `NO_COLOR` is unset",
               .choices = {"auto", "always", "never"}},
          },
      .make_sink = &make_stdout_sink,
      // `stdout://` takes no path: only query parameters (`stdout://?encoding=text`).
      .url = UrlSupport{.schemes = {"stdout"}, .to_options = [](const SinkUrl&, YAML::Node&) {}},
  };
  return descriptor;
}

}  // namespace sluice
