#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace sluice::cli {

struct RunArgs {
  std::optional<std::string> config_path;
  std::vector<std::string> command;  // after `--`
  bool deep = false;                 // validate --deep: probe directories and network sinks
  bool watch_config = false;         // run: reload when the config file changes
};

int run_command(const RunArgs& args);
int validate_command(const RunArgs& args);

// `sluice tail`: a person at a terminal following files or a pipe, with filters.
struct TailArgs {
  std::vector<std::string> paths;  // files or globs; none (or `-`) = stdin
  bool follow = false;             // -f: accepted for tail's muscle memory, the default anyway
  bool no_follow = false;
  bool from_beginning = false;
  std::optional<uint64_t> lines;  // -n: start this many lines before the end of each file
  bool container = false;         // the files are container runtime logs (CRI / Docker json-file)
  std::optional<std::string> multiline;  // java | python | go | auto
  std::optional<std::string> parser;     // a source `parser:` name
  bool json = false;
  std::string color = "auto";
  std::optional<std::string> level;
  std::optional<std::string> grep;
  std::vector<std::string> where;    // key=value or key!=value
  std::vector<std::string> filters;  // condition-language expressions
  std::optional<std::string> since;
  std::vector<std::string> to;  // sink URLs
};

// Declares the `tail` subcommand and its options (filling `args`) on `app`.
CLI::App* add_tail_subcommand(CLI::App& app, TailArgs& args);
int tail_command(const TailArgs& args);

// `sluice top`: a live view of a running sluice, from its /metrics (cli/top.cpp).
struct TopArgs {
  std::vector<std::string> components;  // names or globs; none: all
  std::optional<std::string> addr;      // else SLUICE_METRICS_ADDR, else the default
  std::string interval = "1s";
  size_t files = 10;  // the files furthest behind to list
  bool once = false;
  bool json = false;
};
CLI::App* add_top_subcommand(CLI::App& app, TopArgs& args);
int top_command(const TopArgs& args);

// `sluice tap`: a sample of the events flowing out of a running sluice's components (GET /tap).
struct TapArgs {
  std::vector<std::string> components;  // none: every source and transform
  std::optional<std::string> addr;      // default: SLUICE_METRICS_ADDR, else 127.0.0.1:9598
  std::optional<std::string> format;    // json | text; default text on a terminal
  uint32_t rate = 100;                  // events per second at most
  std::optional<uint64_t> limit;        // exit after this many events
  std::string color = "auto";
  bool quiet = false;  // no notices on stderr
};
CLI::App* add_tap_subcommand(CLI::App& app, TapArgs& args);
int tap_command(const TapArgs& args);

}  // namespace sluice::cli
