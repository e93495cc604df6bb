// sluice: a log-stream router. Entry point: parses the command line and dispatches.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/log.hpp"
#include "base/malloc_tuning.hpp"
#include "cli/commands.hpp"
#include "cli/describe.hpp"
#include "core/process_signals.hpp"
#include "options/config_error.hpp"
#include "sluice/version.hpp"

int main(int argc, char** argv) {
  // Before any thread exists, so every thread inherits the mask and the main thread alone
  // takes signals (see Pipeline::run).
  sluice::block_process_signals();
  // Before the first large allocation: large blocks go back to the system when freed.
  sluice::fix_malloc_mmap_threshold(std::getenv("GLIBC_TUNABLES"));

  if (const char* level = std::getenv("SLUICE_LOG")) {
    if (!sluice::log::set_threshold_from_name(level)) {
      std::cerr << "sluice: SLUICE_LOG must be trace, debug, info, warn or error, not `" << level
                << "`\n";
      return sluice::kExitConfig;
    }
  }

  // Everything after `--` is the wrapped command, taken verbatim.
  std::vector<std::string> command;
  int cli_argc = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") {
      cli_argc = i;
      for (int k = i + 1; k < argc; ++k) command.emplace_back(argv[k]);
      break;
    }
  }

  CLI::App app{
      "sluice: attaches to your app's stdout, parses every line, and routes the events "
      "to files, stdout, Kafka and Elasticsearch."};
  app.require_subcommand(1);
  app.set_version_flag("--version",
                       std::string(sluice::kVersion) + " (" + sluice::kGitRevision + ")");

  sluice::cli::RunArgs run_args;
  CLI::App* run = app.add_subcommand(
      "run", "Run the pipeline. `sluice run -c cfg.yaml -- myapp args` wraps myapp (source `app`)");
  run->add_option("-c,--config", run_args.config_path, "YAML config file (default $SLUICE_CONFIG)");
  run->add_flag("--watch-config", run_args.watch_config,
                "Reload the config when its file changes (also SLUICE_WATCH_CONFIG=true)");
  run->footer(
      "Environment: SLUICE_CONFIG, SLUICE_SINKS (e.g. file:///var/log/out.jsonl,stdout://),\n"
      "SLUICE_LOG (trace|debug|info|warn|error), SLUICE_DATA_DIR (default data_dir: ./data),\n"
      "SLUICE_METRICS_ADDR (/metrics and /health/*; default 127.0.0.1:9598, off to disable),\n"
      "SLUICE_SHUTDOWN_TIMEOUT_SECONDS (default 10), SLUICE_WATCH_CONFIG=true, NO_COLOR.\n"
      "SIGHUP reopens files and reloads the config (see README).");

  sluice::cli::RunArgs validate_args;
  CLI::App* validate = app.add_subcommand(
      "validate",
      "Check a config and print its topology; exit 0 or 78. `-- COMMAND` as for run (source app)");
  validate->add_option("-c,--config", validate_args.config_path,
                       "YAML config file (default $SLUICE_CONFIG)");
  validate->add_flag("--deep", validate_args.deep,
                     "Also check, changing nothing, that the directories it writes to are "
                     "writable (else exit 73) and that network sinks answer (else exit 69)");

  sluice::cli::TailArgs tail_args;
  CLI::App* tail = sluice::cli::add_tail_subcommand(app, tail_args);

  sluice::cli::TopArgs top_args;
  CLI::App* top = sluice::cli::add_top_subcommand(app, top_args);

  sluice::cli::TapArgs tap_args;
  CLI::App* tap = sluice::cli::add_tap_subcommand(app, tap_args);

  CLI::App* list = sluice::cli::add_list_subcommand(app);
  sluice::cli::DescribeArgs describe_args;
  CLI::App* describe = sluice::cli::add_describe_subcommand(app, describe_args);

  CLI::App* version = app.add_subcommand("version", "Print the version and git revision");

  try {
    app.parse(cli_argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 64;  // EX_USAGE
  }
  if (!command.empty() && !run->parsed() && !validate->parsed() && !tail->parsed()) {
    std::cerr << "sluice: `-- COMMAND` is only valid with `sluice run` and `sluice validate`\n";
    return 64;
  }
  if (run->parsed()) {
    run_args.command = command;
    return sluice::cli::run_command(run_args);
  }
  if (validate->parsed()) {
    validate_args.command = command;
    return sluice::cli::validate_command(validate_args);
  }
  if (tail->parsed()) {
    // `sluice tail -- -odd-name.log`: after `--` come file names, not a command.
    tail_args.paths.insert(tail_args.paths.end(), command.begin(), command.end());
    return sluice::cli::tail_command(tail_args);
  }
  if (top->parsed()) return sluice::cli::top_command(top_args);
  if (tap->parsed()) return sluice::cli::tap_command(tap_args);
  if (list->parsed()) return sluice::cli::list_command();
  if (describe->parsed()) return sluice::cli::describe_command(describe_args);
  if (version->parsed()) {
    std::cout << "sluice " << sluice::kVersion << " (git " << sluice::kGitRevision << ")\n";
    return 0;
  }
  return 64;
}
