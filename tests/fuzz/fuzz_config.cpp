// Fuzzes config loading: YAML text → load_topology (parsing, `${VAR}` interpolation, SLUICE_SINKS
// URLs, the `-- COMMAND` source, DAG validation) → describe → build_pipeline, which constructs
// every component without starting it (no thread, socket or file is opened by construction,
// except for the Kafka components, see below). The YAML never touches the disk: it is written to
// a memfd and loaded through /proc/self/fd. The environment is a fixed map, never the process's.
//
// Comment lines starting with `#!` set the other inputs (and stay valid YAML):
//   #!sinks URL[,URL...]   SLUICE_SINKS          #!exec ARG...   `sluice run -- ARG...`
//   #!env NAME=VALUE        one more variable
//
// Invariants:
//   - load_topology and build_pipeline either succeed or throw ConfigError (what sluice reports
//     with exit 78); any other exception would terminate sluice;
//   - a loaded topology has sources and sinks, unique non-empty names and known inputs (a
//     source's `inputs` is only refused by build_pipeline);
//   - a built pipeline has one spec per component, a parser per source, 1-256 workers and no
//     negative sizes or durations;
//   - interpolate(): `$` escaped as `$$` (what load_topology does to command-line arguments)
//     comes back unchanged, text without `$` is left alone, and a malformed reference is an
//     std::invalid_argument, nothing else.
//
// build_pipeline is skipped for topologies with a Kafka source or sink: their constructors hand
// arbitrary properties to librdkafka (which may load plugin libraries or read key files) and
// create a probe client with its own threads.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/factory.hpp"
#include "config/topology.hpp"
#include "fuzz_common.hpp"
#include "options/config_error.hpp"
#include "options/interpolate.hpp"

namespace sluice {
namespace {

struct Inputs {
  std::map<std::string, std::string> env{
      {"HOME", "/home/fuzz"},
      {"EMPTY", ""},
      {"NODE_NAME", "node-1"},
      {"SLUICE_DATA_DIR", "/tmp/sluice-fuzz"},
      {"SLUICE_LOG_ROOT", "/var/log"},
      {"KAFKA_BROKERS", "kafka-0:9092,kafka-1:9092"},
      {"ES_URL", "http://localhost:9200"},
      {"DEPLOY_ENV", "staging"},
      // Values are inserted as they are, never interpolated again.
      {"DOLLAR", "$"},
      {"NESTED", "${HOME}"},
      {"QUOTE", "\"'"},
      {"NEWLINE", "a\nb: c"},
  };
  std::optional<std::string> sinks;
  std::vector<std::string> exec;
};

Inputs read_directives(std::string_view text) {
  Inputs in;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.substr(0, 8) == "#!sinks ") {
      in.sinks = std::string(line.substr(8));
    } else if (line.substr(0, 7) == "#!exec ") {
      std::string_view args = line.substr(7);
      while (!args.empty()) {
        size_t space = args.find(' ');
        std::string_view arg = args.substr(0, space);
        if (!arg.empty()) in.exec.emplace_back(arg);
        args = space == std::string_view::npos ? std::string_view() : args.substr(space + 1);
      }
    } else if (line.substr(0, 6) == "#!env ") {
      std::string_view pair = line.substr(6);
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos) {
        in.env[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
      }
    }
  }
  return in;
}

[[noreturn]] void unexpected(const char* where, const char* what) {
  std::fprintf(stderr, "%s threw something other than ConfigError: %s\n", where, what);
  __builtin_trap();
}

void check_interpolate(std::string_view text, const EnvLookup& env) {
  try {
    std::string out = interpolate(text, env);
    if (text.find('$') == std::string_view::npos) FUZZ_CHECK(out == text);
  } catch (const std::invalid_argument& e) {
    FUZZ_CHECK(std::string_view(e.what()).size() > 0);
  } catch (const std::exception& e) {
    unexpected("interpolate", e.what());
  }
  std::string escaped;
  for (char c : text) escaped += c == '$' ? std::string("$$") : std::string(1, c);
  try {
    FUZZ_CHECK(interpolate(escaped, env) == text);
  } catch (const std::exception& e) {
    unexpected("interpolate of escaped text", e.what());
  }
}

void check_topology(const Topology& t) {
  FUZZ_CHECK(!t.sources.empty() && !t.sinks.empty());
  std::set<std::string> names;
  std::set<std::string> upstream;
  for (const auto* list : {&t.sources, &t.transforms, &t.sinks}) {
    for (const ComponentDecl& c : *list) {
      FUZZ_CHECK(!c.name.empty() && !c.type.empty());
      FUZZ_CHECK(names.insert(c.name).second);
      if (list != &t.sinks) upstream.insert(c.name);
    }
  }
  for (const auto* list : {&t.transforms, &t.sinks}) {
    for (const ComponentDecl& c : *list) {
      FUZZ_CHECK(!c.inputs.empty());
      for (const std::string& in : c.inputs) FUZZ_CHECK(in != c.name && upstream.count(in));
    }
  }
  const std::string text = describe(t);
  for (const std::string& name : names) FUZZ_CHECK(text.find(name) != std::string::npos);
}

bool has_kafka(const Topology& t) {
  for (const auto* list : {&t.sources, &t.sinks}) {
    for (const ComponentDecl& c : *list) {
      if (c.type == "kafka") return true;
    }
  }
  return false;
}

void check_built(const Topology& t, const BuiltPipeline& built) {
  FUZZ_CHECK(built.sources.size() == t.sources.size());
  FUZZ_CHECK(built.transforms.size() == t.transforms.size());
  FUZZ_CHECK(built.sinks.size() == t.sinks.size());
  FUZZ_CHECK(built.options.workers >= 1 && built.options.workers <= 256);
  FUZZ_CHECK(built.options.health_sink_grace_ns >= 0);
  for (const SourceSpec& s : built.sources) FUZZ_CHECK(s.source && s.parser);
  for (const TransformSpec& s : built.transforms) FUZZ_CHECK(s.transform != nullptr);
  for (const SinkSpec& s : built.sinks) {
    FUZZ_CHECK(s.sink != nullptr);
    FUZZ_CHECK(s.buffer_max_bytes >= 0);
  }
}

// The YAML file: a memfd, reached by path through /proc/self/fd.
class ConfigFile {
 public:
  ConfigFile() : fd_(::memfd_create("fuzz_config.yaml", MFD_CLOEXEC)) {
    if (fd_ < 0) __builtin_trap();
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  void write(std::string_view text) {
    if (::ftruncate(fd_, 0) != 0) __builtin_trap();
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::pwrite(fd_, text.data() + done, text.size() - done, static_cast<off_t>(done));
      if (n <= 0) __builtin_trap();
      done += static_cast<size_t>(n);
    }
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  static auto* file = new ConfigFile();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Inputs in = read_directives(text);
  const EnvLookup env = [&in](const std::string& name) -> std::optional<std::string> {
    auto it = in.env.find(name);
    if (it == in.env.end()) return std::nullopt;
    return it->second;
  };
  check_interpolate(text, env);

  file->write(text);
  TopologyInputs inputs;
  inputs.config_path = file->path();
  inputs.exec_command = in.exec;
  inputs.sinks_env = in.sinks;
  inputs.env = env;
  Topology topology;
  try {
    topology = load_topology(inputs);
  } catch (const ConfigError& e) {
    FUZZ_CHECK(std::string_view(e.what()).size() > 0);
    return 0;
  } catch (const std::exception& e) {
    unexpected("load_topology", e.what());
  }
  check_topology(topology);
  if (has_kafka(topology)) return 0;

  BuildContext context;
  context.host_name = "fuzz-host";
  context.data_dir = "/tmp/sluice-fuzz";  // never created: construction does not write there
  context.env = env;
  try {
    BuiltPipeline built = build_pipeline(topology, context);
    check_built(topology, built);
  } catch (const ConfigError& e) {
    FUZZ_CHECK(std::string_view(e.what()).size() > 0);
  } catch (const std::exception& e) {
    unexpected("build_pipeline", e.what());
  }
  return 0;
}
