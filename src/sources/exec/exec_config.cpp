// The `exec` source's configuration: YAML options → ExecOptions.
#include "sources/exec/exec_source.hpp"

#include "options/components.hpp"
#include "options/descriptor.hpp"

namespace sluice {

namespace {

std::unique_ptr<Source> make_exec_source(MapReader& config, const SourceBuildContext& context) {
  ExecOptions options;
  options.command = config.string_list("command");
  if (options.command.empty() || options.command[0].empty()) {
    config.fail_here("`command` is required: the program and its arguments as a list");
  }
  options.passthrough = config.boolean("passthrough", true);
  if (config.has("forward_signals")) {
    options.forward_signals.clear();
    for (const std::string& name : config.string_list("forward_signals")) {
      int signal = forwardable_signal(name);
      if (signal == 0) {
        config.fail("forward_signals", "`forward_signals` lists `" + name +
                                           "`, which is not a signal sluice forwards; choose "
                                           "among TERM, INT, QUIT, HUP, USR1, USR2");
      }
      options.forward_signals.push_back(signal);
    }
  }
  options.framer = context.framer;
  return std::make_unique<ExecSource>(std::move(options));
}

}  // namespace

const ComponentDescriptor& exec_source_descriptor() {
  static const ComponentDescriptor descriptor{
      .kind = ComponentKind::Source,
      .type = "exec",
      .summary = "runs a command and reads its stdout and stderr; sluice exits with its exit code",
      .options =
          {
              {.key = "command",
               .type = OptionType::List,
               .description = "the program and its arguments (argv, never a shell line); required "
                              "unless given after `--`",
               .required = true},
              {.key = "passthrough",
               .type = OptionType::Bool,
               .default_shown = "true",
               .description = "also copy the child's bytes to sluice's own stdout/stderr, so "
                              "`kubectl logs` still works"},
              {.key = "forward_signals",
               .type = OptionType::List,
               .default_shown = "[TERM, INT, QUIT, HUP, USR1, USR2]",
               .description = "the signals sluice passes on to the child; remove HUP for an app "
                              "that dies on it (sluice itself reopens files on HUP); `[]` "
                              "forwards none"},
          },
      .make_source = &make_exec_source,
  };
  return descriptor;
}

}  // namespace sluice
