#pragma once
#include <optional>
#include <string>
#include <vector>

namespace sluice::cli {

struct RunArgs {
  std::optional<std::string> config_path;
  std::vector<std::string> command;  // after `--`
};

int run_command(const RunArgs& args);
int validate_command(const RunArgs& args);

}  // namespace sluice::cli
