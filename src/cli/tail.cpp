// `sluice tail`: follow files or a pipe on a terminal, readable and filtered.
//
// The command builds an ordinary topology in memory (a `file`, `container` and/or `stdin`
// source, one `filter` transform for --level/--where/--since/--filter, a `stdout` sink and the
// --to sinks) and runs it through the same factory and Pipeline as `sluice run`, so every option
// is validated by the components themselves. The topology is built as YAML nodes rather than
// as generated YAML text: user strings then need no quoting, only `$` escaping (every scalar
// goes through ${VAR} interpolation). The one exception is --grep, a transform of tail's own,
// because the condition language cannot see the raw line.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <re2/re2.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <CLI/CLI.hpp>

#include "base/clock.hpp"
#include "base/duration.hpp"
#include "base/field_path.hpp"
#include "base/level.hpp"
#include "base/log.hpp"
#include "base/secrets.hpp"
#include "cli/commands.hpp"
#include "cli/environment.hpp"
#include "cli/tail_archives.hpp"
#include "config/factory.hpp"
#include "config/topology.hpp"
#include "core/event_view.hpp"
#include "core/open_file_limit.hpp"
#include "options/config_error.hpp"
#include "parse/timestamp.hpp"
#include "sinks/stdout_sink.hpp"
#include "sluice/transform.hpp"
#include "sources/file/glob.hpp"
#include "transforms/condition.hpp"

namespace sluice::cli {

namespace {

constexpr int kExitNoInput = 66;  // EX_NOINPUT: a file named on the command line is missing

const char* const kTailFile = "sluice tail";

// A missing input file, reported like `tail` does rather than as a config error.
class NoInputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Every scalar of a config is interpolated (`${VAR}`); command-line text is meant literally.
std::string escape_dollars(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '$') out += '$';
    out += c;
  }
  return out;
}

// A double-quoted literal of the condition language: only `"` and `\` are escapes there.
std::string condition_literal(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

bool has_glob_chars(std::string_view path) {
  return path.find_first_of("*?[{\\") != std::string_view::npos;
}

// A file that exists is meant literally even if its name contains glob characters
// (`app[1].log`): the file source's globs take `\x` as a literal x.
std::string escape_glob(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (std::string_view("*?[]{}\\").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// The key names the text encoder shows as the level: --level filters on what the reader sees.
constexpr const char* kLevelKeys[] = {"level", "lvl", "severity", "loglevel", "log.level"};

std::string level_condition(const std::string& name) {
  std::optional<Level> level = parse_level(name);
  double ignored = 0;
  bool numeric = std::from_chars(name.data(), name.data() + name.size(), ignored).ptr ==
                 name.data() + name.size();
  if (!level || numeric) {
    throw ConfigError(
        "--level: unknown level `" + name +
        "` (use trace, debug, info, notice, warn, error or fatal; events at or above it pass)");
  }
  std::string canonical(level_name(*level));
  std::string out = "(";
  for (const char* key : kLevelKeys) {
    if (out.size() > 1) out += " or ";
    out += std::string(key) + " >= " + canonical;
  }
  return out + ")";
}

std::string where_condition(const std::string& arg) {
  // The key is a field path as the condition language reads it (a quoted segment may hold `=`).
  const FieldPathScan key = scan_field_path(arg);
  if (!key.error.empty()) {
    throw ConfigError("--where `" + arg + "`, at character " + std::to_string(key.error_at + 1) +
                      ": " + key.error);
  }
  const size_t end = key.end;
  const bool negated = arg.compare(end, 2, "!=") == 0;
  const bool valid_key = end > 0 && (negated || arg.compare(end, 1, "=") == 0);
  if (!valid_key) {
    throw ConfigError(
        "--where `" + arg +
        "`: expected key=value or key!=value, the key made of letters, digits, "
        "`_`, `-`, `@` and `.`, a segment with other characters double-quoted (e.g. --where "
        "user=bob, --where kubernetes.pod.name=api, --where "
        "'kubernetes.labels.\"app.kubernetes.io/name\"=web')");
  }
  return key.canonical + (negated ? " != " : " == ") +
         condition_literal(arg.substr(end + (negated ? 2 : 1)));
}

std::string since_condition(const std::string& arg) {
  int64_t now = wall_clock_ns();
  int64_t threshold = 0;
  if (DurationParse duration = parse_duration(arg); duration.status == DurationParse::Status::Ok) {
    threshold = now - duration.ns;
  } else if (std::optional<int64_t> at = parse_timestamp(arg, TimestampContext{nullptr, now})) {
    threshold = *at;
  } else {
    throw ConfigError("--since `" + arg +
                      "`: expected a duration (30s, 10m, 1h30m, 2d) or a time "
                      "(2024-05-01T10:00:00Z; UTC unless it has an offset)");
  }
  // @timestamp reads as fixed-width RFC 3339 UTC, so comparing the text compares the times.
  char text[kRfc3339Length];
  format_rfc3339(threshold, text);
  return "@timestamp >= " + condition_literal(std::string_view(text, kRfc3339Length));
}

// --grep looks at the raw line (what `grep` would see) and at the message: a parsed JSON
// message may have been unescaped. The condition language cannot see the raw line, so this is
// a transform of tail's own (see the report to the lead: `event.original` in EventView).
class GrepTransform final : public Transform {
 public:
  explicit GrepTransform(std::unique_ptr<RE2> regex) : regex_(std::move(regex)) {}

  void apply(Batch& batch, const SourceMeta& meta, std::span<const Event> in,
             std::vector<Event>& out) const override {
    for (const Event& event : in) {
      if (matches(event.line)) {
        out.push_back(event);
        continue;
      }
      EventView view(batch, event, meta);
      for (const char* key : {"message", "msg"}) {
        std::optional<Value> value = view.get(key);
        if (value && matches(value->text)) {
          out.push_back(event);
          break;
        }
      }
    }
  }

 private:
  bool matches(std::string_view text) const {
    return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *regex_);
  }

  std::unique_ptr<RE2> regex_;
};

std::unique_ptr<RE2> compile_grep(const std::string& pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  auto regex = std::make_unique<RE2>(pattern, options);
  if (!regex->ok()) {
    throw ConfigError("--grep `" + pattern + "`: invalid regular expression: " + regex->error());
  }
  return regex;
}

YAML::Node string_sequence(const std::vector<std::string>& items) {
  YAML::Node seq(YAML::NodeType::Sequence);
  for (const auto& item : items) seq.push_back(item);
  return seq;
}

ComponentDecl component(std::string name, std::string type, std::vector<std::string> inputs,
                        YAML::Node node) {
  node["type"] = type;
  if (!inputs.empty()) node["inputs"] = string_sequence(inputs);
  // YAML::Node has no move constructor: it is a handle, copying it is cheap.
  return ComponentDecl{std::move(name), std::move(type), std::move(inputs), node, kTailFile};
}

// Where `--container` with no FILE looks: the kubelet's links to every container's log.
constexpr const char* kContainerLogDir = "/var/log/containers";
constexpr const char* kContainerLogGlob = "/var/log/containers/*.log";

// The files a glob matches now (sluice's glob syntax, as the file source will use it).
std::vector<std::string> glob_now(const std::string& pattern) {
  std::string error;
  auto matcher = PathMatcher::create({pattern}, {}, &error);
  if (!matcher) throw ConfigError(error);
  return matcher->scan();
}

// What to read: the `include` patterns of the file source, and the compressed files, read once
// by sources of their own. Throws NoInputError for a missing file when there is nothing to
// wait for (--no-follow), and when --container has no container log directory to look in.
struct TailInputs {
  std::vector<std::string> include;
  std::vector<std::string> archives;
};

TailInputs tail_inputs(const TailArgs& args) {
  TailInputs inputs;
  for (const auto& path : args.paths) {
    if (path == "-") continue;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        std::string message = path;
        message += " is a directory: name its files, e.g. '";
        message += path;
        message += "/*.log' (quoted: sluice expands globs itself and follows new files)";
        throw ConfigError(message);
      }
      if (is_compressed_name(path)) {
        inputs.archives.push_back(path);
      } else {
        inputs.include.push_back(escape_dollars(escape_glob(path)));
      }
      continue;
    }
    if (!has_glob_chars(path)) {
      if (args.no_follow) throw NoInputError(path + ": no such file");
      std::cerr << "sluice tail: " << path << " does not exist yet; waiting for it\n";
    } else {
      // Compressed files the glob matches now are read decompressed; the file source skips them.
      std::vector<std::string> matched = glob_now(path);
      for (const auto& file : matched) {
        if (is_compressed_name(file)) inputs.archives.push_back(file);
      }
      if (matched.empty()) {
        std::cerr << "sluice tail: nothing matches " << path
                  << (args.no_follow ? "\n" : " yet; waiting for files\n");
      }
    }
    inputs.include.push_back(escape_dollars(path));
  }
  if (args.container && args.paths.empty()) {
    struct stat st {};
    if (::stat(kContainerLogDir, &st) != 0 || !S_ISDIR(st.st_mode)) {
      throw NoInputError(std::string("no container logs here: ") + kContainerLogDir +
                         " does not exist (--container with no FILE follows " + kContainerLogGlob +
                         ", the kubelet's links; run it on a Kubernetes node, or name the files)");
    }
    if (glob_now(kContainerLogGlob).empty()) {
      std::cerr << "sluice tail: nothing matches " << kContainerLogGlob
                << (args.no_follow ? "\n" : " yet; waiting for containers\n");
    }
  }
  return inputs;
}

// Lines say where they came from once more than one file or pod may be shown.
bool shows_several_sources(const TailArgs& args) {
  if (args.paths.size() > 1 || (args.container && args.paths.empty())) return true;
  for (const auto& path : args.paths) {
    if (path != "-" && has_glob_chars(path) && ::access(path.c_str(), F_OK) != 0) return true;
  }
  return false;
}

struct TailTopology {
  Topology topology;
  std::unique_ptr<RE2> grep;
  std::vector<std::string> grep_inputs;  // what the grep transform reads
  // Source name → compressed file: declared as `stdin` sources (for their parser options), their
  // Source replaced by an ArchiveSource once built.
  std::vector<std::pair<std::string, std::string>> archives;
};

TailTopology tail_topology(const TailArgs& args) {
  TailTopology out;
  Topology& t = out.topology;
  t.file = kTailFile;
  t.root = YAML::Node(YAML::NodeType::Map);

  TailInputs inputs = tail_inputs(args);
  const std::vector<std::string>& include = inputs.include;
  // --container with no FILE follows the node's containers (the container source's default).
  bool wants_stdin = args.paths.empty() && !args.container;
  for (const auto& path : args.paths) wants_stdin = wants_stdin || path == "-";
  auto source_node = [&args] {
    YAML::Node node(YAML::NodeType::Map);
    if (args.multiline) node["multiline"] = *args.multiline;
    // Checked by the source's schema, like `parser:` in a config file.
    if (args.parser) node["parser"] = escape_dollars(*args.parser);
    return node;
  };
  if (wants_stdin) t.sources.push_back(component("stdin", "stdin", {}, source_node()));
  for (const auto& archive : inputs.archives) {
    // Named after the file (the prefix shows it), `#N` added if two share a base name.
    std::string name = archive.substr(archive.rfind('/') + 1);
    for (int n = 2; std::any_of(t.sources.begin(), t.sources.end(),
                                [&](const ComponentDecl& d) { return d.name == name; });
         ++n) {
      name = archive.substr(archive.rfind('/') + 1) + "#" + std::to_string(n);
    }
    t.sources.push_back(component(name, "stdin", {}, source_node()));
    out.archives.emplace_back(name, archive);
  }
  if (!include.empty() || args.container) {
    YAML::Node node = source_node();
    if (!include.empty()) node["include"] = string_sequence(include);
    node["exclude"] = string_sequence({"*.gz", "*.zst"});  // read decompressed, once, above
    // --no-follow reads whole files, as `cat` would; following starts at the end, as `tail -f`,
    // or N lines before it (-n N).
    bool from_end = args.lines || !(args.from_beginning || args.no_follow);
    node["read_from"] = from_end ? "end" : "beginning";
    if (args.lines) node["lines_before_end"] = std::to_string(*args.lines);
    node["checkpoints"] = false;  // a person's tail must not move a daemon's read positions
    if (args.no_follow) node["stop_at_eof"] = true;
    const char* type = args.container ? "container" : "file";
    t.sources.push_back(component(type, type, {}, node));
  }
  std::vector<std::string> upstream;
  for (const auto& s : t.sources) upstream.push_back(s.name);

  std::vector<std::string> conditions;
  if (args.level) conditions.push_back(level_condition(*args.level));
  for (const auto& w : args.where) conditions.push_back(where_condition(w));
  if (args.since) conditions.push_back(since_condition(*args.since));
  for (const auto& f : args.filters) {
    std::string error;
    if (!Condition::compile(f, &error)) {
      std::string message = "--filter `" + f;
      message += "`: ";
      message += error;
      throw ConfigError(message);
    }
    conditions.push_back("(" + f + ")");
  }
  if (!conditions.empty()) {
    std::string condition;
    for (const auto& c : conditions) condition += (condition.empty() ? "" : " and ") + c;
    YAML::Node node(YAML::NodeType::Map);
    node["condition"] = escape_dollars(condition);
    t.transforms.push_back(component("filter", "filter", upstream, node));
    upstream = {"filter"};
  }
  if (args.grep) {
    // Added to the built pipeline by the caller; the sinks only need its name.
    out.grep = compile_grep(*args.grep);
    out.grep_inputs = upstream;
    upstream = {"grep"};
  }

  YAML::Node out_node(YAML::NodeType::Map);
  out_node["encoding"] = args.json ? "json" : "text";
  out_node["color"] = args.color;
  t.sinks.push_back(component("stdout", "stdout", upstream, out_node));
  for (size_t i = 0; i < args.to.size(); ++i) {
    std::vector<ComponentDecl> decls;
    try {
      decls = sinks_from_urls(escape_dollars(args.to[i]), t.sources);
    } catch (const ConfigError& e) {
      std::string message = e.what();
      const std::string prefix = "SLUICE_SINKS: ";
      if (message.rfind(prefix, 0) == 0) message.erase(0, prefix.size());
      throw ConfigError("--to: " + message);
    }
    if (decls.size() != 1) {
      throw ConfigError("--to `" + secrets::redact_url(args.to[i]) + "`: expected one sink URL");
    }
    ComponentDecl decl = std::move(decls.front());
    decl.name = "to_" + std::to_string(i + 1);
    decl.inputs = upstream;
    decl.node["inputs"] = string_sequence(upstream);
    decl.file = "--to " + secrets::redact_url(args.to[i]);  // errors name it
    t.sinks.push_back(std::move(decl));
  }
  return out;
}

// Ends tail as Ctrl-C would once nobody reads its output: the reader of the pipe went away
// (`sluice tail -f app.log | head`) or the terminal hung up. Otherwise a following tail whose
// output is gone would run, discarding, until the next reboot. poll() reports POLLERR/POLLHUP
// on stdout even with no events requested; regular files and /dev/null never report them.
class StdoutWatch {
 public:
  StdoutWatch() : wake_(::eventfd(0, EFD_CLOEXEC)) {
    if (wake_ >= 0) thread_ = std::thread([this] { watch(); });
  }
  ~StdoutWatch() {
    if (wake_ < 0) return;
    uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
    thread_.join();
    ::close(wake_);
  }
  StdoutWatch(const StdoutWatch&) = delete;
  StdoutWatch& operator=(const StdoutWatch&) = delete;

 private:
  void watch() const {
    pollfd fds[2] = {{STDOUT_FILENO, 0, 0}, {wake_, POLLIN, 0}};
    for (;;) {
      int n = ::poll(fds, 2, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || fds[1].revents != 0 || (fds[0].revents & POLLNVAL)) return;
      if (fds[0].revents & (POLLERR | POLLHUP)) {
        // Process-directed, so the main thread's signalfd sees it (it is blocked everywhere);
        // raise() would target this thread alone.
        ::kill(::getpid(), SIGTERM);
        return;
      }
    }
  }

  int wake_;
  std::thread thread_;
};

}  // namespace

CLI::App* add_tail_subcommand(CLI::App& app, TailArgs& args) {
  CLI::App* tail = app.add_subcommand(
      "tail", "Follow files or standard input on a terminal: readable colour output and filters");
  tail->add_option("files", args.paths,
                   "Files or quoted globs (`**` for any depth) to follow; `-` or none: stdin")
      ->type_name("FILE|GLOB");
  auto* follow = tail->add_flag("-f,--follow", args.follow,
                                "Follow the files as they grow and are rotated (the default)");
  tail->add_flag(
          "--no-follow", args.no_follow,
          "Read the files from the beginning to their end, one after the other in path order, "
          "then exit")
      ->excludes(follow);
  auto* from_beginning =
      tail->add_flag("-b,--from-beginning", args.from_beginning,
                     "Start at the beginning of existing files instead of their end");
  tail->add_option("-n,--lines", args.lines,
                   "Start N lines before the end of each existing file (then follow, or exit "
                   "with --no-follow)")
      ->type_name("N")
      ->excludes(from_beginning);
  tail->add_flag("--container", args.container,
                 "FILEs are container runtime logs (CRI or Docker json-file): decode them and add "
                 "Kubernetes metadata; with no FILE, follow /var/log/containers/*.log");
  tail->add_option("--multiline", args.multiline,
                   "Join multi-line records (stack traces) into one event: java, python, go, or "
                   "auto (lines without a time continue the one before)")
      ->check(CLI::IsMember({"java", "python", "go", "auto"}))
      ->type_name("MODE");
  tail->add_option("--parser", args.parser,
                   "How lines are read: auto (the default: JSON, logfmt, else text), json, logfmt, "
                   "text (plain-text layouts only), syslog, clf (access logs), klog, logcat, none")
      ->type_name("NAME");
  tail->add_flag("--json", args.json, "Print events as JSON lines instead of text");
  tail->add_option("--color", args.color,
                   "Colour text output: auto (a terminal without NO_COLOR), always, never")
      ->type_name("WHEN")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  tail->add_option("-l,--level", args.level,
                   "Only events at or above this level: trace, debug, info, notice, warn, error, "
                   "fatal (lines without a level are left out)")
      ->type_name("LEVEL");
  tail->add_option("-g,--grep", args.grep,
                   "Only events whose raw line or message matches this RE2 regular expression "
                   "(partial match; (?i) for case-insensitive)")
      ->type_name("REGEX");
  tail->add_option("-w,--where", args.where,
                   "Only events with field KEY equal to VALUE (KEY=VALUE) or not (KEY!=VALUE); "
                   "repeatable, all must hold; dotted keys reach into JSON (kubernetes.pod.name)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  tail->add_option("--since", args.since,
                   "Only events whose timestamp is at most this old (30s, 10m, 1h30m, 2d) or not "
                   "before this time (2024-05-01T10:00:00Z); lines without a time count as now")
      ->type_name("DURATION|TIME");
  tail->add_option("--filter", args.filters,
                   "Only events matching this condition (the `filter` transform's language, "
                   "e.g. 'status >= 500 and not path =~ \"^/health\"'); repeatable")
      ->type_name("EXPR")
      ->allow_extra_args(false);
  tail->add_option("--to", args.to,
                   "Also send the events shown to this sink URL (as SLUICE_SINKS: "
                   "file:///abs/path.jsonl, file:///x.jsonl.gz?compression=gzip); repeatable")
      ->type_name("URL")
      ->allow_extra_args(false);
  tail->footer(R"(Examples:
  sluice tail app.log                          follow app.log from its end, like tail -f
  sluice tail -n 20 app.log                    its last 20 lines, then follow
  sluice tail app.log.1.gz app.log             a rotated archive (read decompressed), then on
  sluice tail -b 'logs/**/*.log'               every .log under logs/ from the start, and new ones
  sluice tail --no-follow -l error app.log     the errors in app.log, then exit
  kubectl logs -f deploy/api | sluice tail -l warn -g 'timeout|refused'
  sluice tail -w user=bob -w status=500 --since 10m app.log
  sluice tail --filter 'duration_ms > 1000' --json app.log | jq .
  sluice tail app.log --to file:///tmp/copy.jsonl   also keep what is shown, as JSON lines
  sluice tail --multiline java server.log      a stack trace is one event, not fifty
  sluice tail --parser clf --filter 'http.response.status_code >= 500' access.log
  sluice tail --container -w kubernetes.namespace=shop   every container on this node, one namespace

Lines are parsed like `sluice run` does (JSON, logfmt, else plain text) and shown as time, level,
message and key=value fields; a joined multiline record's further lines follow, indented. With
several files, a glob or --container, each line begins with [file] or [namespace/pod/container].
Filters combine with `and`. Files are followed across rotation (rename or truncation); .gz and .zst
files are read decompressed, once; read positions are not saved. SLUICE_SINKS and SLUICE_CONFIG
are ignored.
Ctrl-C exits 0; a closed output (| head) ends it too. Invalid options exit 78, a missing FILE with
--no-follow 66. Own logs: warnings and errors only unless SLUICE_LOG is set. NO_COLOR=1 turns
colours off.)");
  return tail;
}

int tail_command(const TailArgs& args) {
  // A person reads stdout and stderr interleaved: sluice's info logs would be noise there.
  if (!std::getenv("SLUICE_LOG")) log::set_threshold(log::Severity::Warn);
  raise_open_file_limit();  // `sluice tail '**/*.log'` may follow thousands of files
  try {
    TailTopology plan;
    const FramerOptions framer = archive_framer(args.multiline);
    const bool several_sources = shows_several_sources(args);
    BuiltPipeline built = guard_config_errors<NoInputError>([&] {
      plan = tail_topology(args);
      return build_pipeline(plan.topology, build_context());
    });
    for (SourceSpec& source : built.sources) {
      for (const auto& [name, path] : plan.archives) {
        if (source.name == name) source.source = std::make_unique<ArchiveSource>(path, framer);
      }
    }
    for (SinkSpec& sink : built.sinks) {
      if (auto* out = dynamic_cast<StdoutSink*>(sink.sink.get()); out && sink.name == "stdout") {
        out->treat_closed_output_as_normal();
        if (several_sources) out->show_origin_prefix();
      }
    }
    if (plan.grep) {
      built.transforms.push_back(TransformSpec{
          "grep", std::make_unique<GrepTransform>(std::move(plan.grep)), plan.grep_inputs});
    }
    built.options.shutdown_timeout_ns = shutdown_timeout_ns();
    bool reads_stdin = false;
    for (const auto& s : plan.topology.sources) reads_stdin = reads_stdin || s.type == "stdin";
    if (reads_stdin && isatty(STDIN_FILENO)) {
      std::cerr << "sluice tail: reading standard input (name files to follow, or pipe into it; "
                   "--help for more)\n";
    }
    StdoutWatch watch;
    Pipeline pipeline(built.options, std::move(built.sources), std::move(built.transforms),
                      std::move(built.sinks));
    return pipeline.run();
  } catch (const NoInputError& e) {
    std::cerr << "sluice tail: " << e.what() << "\n";
    return kExitNoInput;
  } catch (const ConfigError& e) {
    std::cerr << "sluice tail: " << secrets::redact(e.what()) << "\n";
    return kExitConfig;
  }
}

}  // namespace sluice::cli
