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
          },
      .make_source = &make_exec_source,
  };
  return descriptor;
}

}  // namespace sluice
