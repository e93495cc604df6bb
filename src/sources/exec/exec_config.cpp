// The `exec` source's configuration: YAML options → ExecOptions.
#include "sources/exec/exec_source.hpp"

#include "options/components.hpp"

namespace sluice {

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

}  // namespace sluice
