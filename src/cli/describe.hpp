#pragma once
// `sluice list` and `sluice describe`: the component list and each component's options, printed
// from the descriptors' schemas (options/descriptor.hpp), as `vector list` and
// `fluent-bit -h <plugin>` do. `describe --markdown` prints the README's option tables
// (scripts/readme_options.py puts them between the README's markers).
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace sluice::cli {

struct DescribeArgs {
  // `sink/kafka`, `kafka` when unambiguous, a kind (`source`, `sink`): the options every one of
  // that kind has, or `config`: the file's top level.
  std::string name;
  bool markdown = false;
};

// Declares `list` and `describe` on `app`.
CLI::App* add_list_subcommand(CLI::App& app);
CLI::App* add_describe_subcommand(CLI::App& app, DescribeArgs& args);

// One line per component: kind, type, summary.
std::string list_text();

// The options of `args.name` as text (or a Markdown table). Fills `error` and returns "" when
// the name is unknown or ambiguous.
std::string describe_text(const DescribeArgs& args, std::string* error);

int list_command();
int describe_command(const DescribeArgs& args);

}  // namespace sluice::cli
