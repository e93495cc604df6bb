#include "config/topology.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "base/secrets.hpp"
#include "config/component_list.hpp"
#include "config/config_file.hpp"
#include "options/config_error.hpp"
#include "options/map_reader.hpp"

namespace sluice {

namespace {

const char* const kUrlVar = kSinkUrlVariable;

std::vector<ComponentDecl> read_section(const YAML::Node& root, const std::string& section,
                                        const std::string& file, const EnvLookup& env) {
  std::vector<ComponentDecl> out;
  YAML::Node node = root[section];
  if (!node || node.IsNull()) return out;
  if (!node.IsMap())
    throw_at(file, node.Mark(), "`" + section + "` must be a mapping of names to components");
  for (auto it = node.begin(); it != node.end(); ++it) {
    ComponentDecl decl;
    decl.name = it->first.Scalar();
    decl.node = it->second;
    decl.file = file;
    std::string what = section.substr(0, section.size() - 1) + " `" + decl.name + "`";
    if (decl.name.empty()) throw_at(file, it->first.Mark(), "component names cannot be empty");
    if (!decl.node.IsMap())
      throw_at(file, it->second.Mark(), what + " must be a mapping with a `type`");
    MapReader reader(decl.node, what, file, env);
    if (!reader.has("type")) reader.fail_here("`type` is required");
    decl.type = reader.required_string("type");
    decl.inputs = reader.string_list("inputs");
    out.push_back(std::move(decl));
  }
  return out;
}

// "file://, stdout://, kafka://, elasticsearch+http:// and elasticsearch+https://"
std::string supported_schemes() {
  std::vector<std::string> schemes;
  for (const ComponentDescriptor* d : component_list()) {
    if (d->url) schemes.insert(schemes.end(), d->url->schemes.begin(), d->url->schemes.end());
  }
  std::string out;
  for (size_t i = 0; i < schemes.size(); ++i) {
    if (i > 0) out += i + 1 == schemes.size() ? " and " : ", ";
    out += schemes[i] + "://";
  }
  return out;
}

[[noreturn]] void fail_component(const ComponentDecl& c, const std::string& message) {
  if (c.node && c.node.Mark().line >= 0) throw_at(c.file, c.node.Mark(), message);
  throw ConfigError(c.file + ": " + message);
}

// A transform or sink without `inputs`: most often the key is misspelt (`input:`), and that key
// is what the message then points at.
[[noreturn]] void fail_without_inputs(const ComponentDecl& c) {
  std::string message = "`" + c.name + "` needs `inputs`, the components it reads from";
  if (c.node.IsMap()) {
    for (auto it = c.node.begin(); it != c.node.end(); ++it) {
      const std::string& key = it->first.Scalar();
      if (!suggestion(key, {"inputs"}).empty()) {
        throw_at(c.file, it->first.Mark(),
                 message + ": `" + key + "` is not an option (did you mean `inputs`?)");
      }
    }
  }
  fail_component(c, message + " (e.g. `inputs: [app]`)");
}

// A URL as messages show it: credentials masked, also in what is not a URL at all (a
// `user:password@host` without its scheme).
std::string shown_url(const std::string& url) {
  if (url.find("://") != std::string::npos) return secrets::redact_url(url);
  size_t at = url.rfind('@', url.find('?'));
  return at == std::string::npos ? url : std::string(secrets::kMask) + url.substr(at);
}

// True when `s` at `pos` starts `scheme://` (after optional blanks).
bool starts_url(const std::string& s, size_t pos) {
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) ++pos;
  size_t i = pos;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '+' ||
                          s[i] == '-' || s[i] == '.')) {
    ++i;
  }
  return i > pos && std::isalpha(static_cast<unsigned char>(s[pos])) && s.compare(i, 3, "://") == 0;
}

void validate(Topology& t) {
  std::map<std::string, const ComponentDecl*> names;
  for (auto* list : {&t.sources, &t.transforms, &t.sinks}) {
    for (const auto& c : *list) {
      if (!names.emplace(c.name, &c).second) {
        fail_component(c, "the name `" + c.name + "` is used by more than one component");
      }
    }
  }
  if (t.sources.empty()) {
    throw ConfigError(t.file + ": no sources: declare `sources`, or run `sluice run -- COMMAND`");
  }
  if (t.sinks.empty()) {
    throw ConfigError(t.file + ": no sinks: declare `sinks` or set SLUICE_SINKS (e.g. stdout://)");
  }
  std::set<std::string> upstream;
  for (const auto& s : t.sources) upstream.insert(s.name);
  for (const auto& s : t.transforms) upstream.insert(s.name);
  std::vector<std::string> upstream_list(upstream.begin(), upstream.end());
  for (auto* list : {&t.transforms, &t.sinks}) {
    for (const auto& c : *list) {
      if (c.inputs.empty()) fail_without_inputs(c);
      for (const auto& in : c.inputs) {
        if (in == c.name) fail_component(c, "`" + c.name + "` lists itself as an input");
        if (!upstream.count(in)) {
          fail_component(
              c, "`" + c.name + "` has unknown input `" + in + "`" + suggestion(in, upstream_list));
        }
      }
    }
  }
  // Cycles among transforms.
  std::map<std::string, const ComponentDecl*> transforms;
  for (const auto& c : t.transforms) transforms[c.name] = &c;
  std::map<std::string, int> state;  // 1 visiting, 2 done
  std::function<void(const ComponentDecl&)> visit = [&](const ComponentDecl& c) {
    state[c.name] = 1;
    for (const auto& in : c.inputs) {
      auto it = transforms.find(in);
      if (it == transforms.end()) continue;
      if (state[in] == 1) fail_component(c, "transforms form a cycle through `" + in + "`");
      if (state[in] == 0) visit(*it->second);
    }
    state[c.name] = 2;
  };
  for (const auto& c : t.transforms) {
    if (state[c.name] == 0) visit(c);
  }
  // Everything must reach a sink.
  std::set<std::string> reaches;
  for (const auto& s : t.sinks) reaches.insert(s.inputs.begin(), s.inputs.end());
  bool grew = true;
  while (grew) {
    grew = false;
    for (const auto& c : t.transforms) {
      if (!reaches.count(c.name)) continue;
      for (const auto& in : c.inputs) grew |= reaches.insert(in).second;
    }
  }
  for (auto* list : {&t.sources, &t.transforms}) {
    for (const auto& c : *list) {
      if (!reaches.count(c.name)) {
        fail_component(c, "`" + c.name + "` is not used: no sink receives its events");
      }
    }
  }
}

// A secret option is remembered (base/secrets.hpp) when its component reads it. An error about
// a value read before that (an earlier component, an earlier key) which happens to hold the
// secret would print it: so every value of the file under a secret name is remembered first.
// The walk is bounded: aliases were limited when the file was loaded.
void remember_secret_values(const YAML::Node& node, const EnvLookup& env) {
  if (!node) return;
  if (node.IsSequence()) {
    for (const auto& item : node) remember_secret_values(item, env);
    return;
  }
  if (!node.IsMap()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it->first.IsScalar() && it->second.IsScalar() &&
        secrets::is_secret_name(it->first.Scalar())) {
      try {
        secrets::remember(env ? interpolate(it->second.Scalar(), env) : it->second.Scalar());
      } catch (const std::exception&) {
        // A malformed reference is reported where the option is read.
      }
    } else {
      remember_secret_values(it->second, env);
    }
  }
}

}  // namespace

std::vector<ComponentDecl> sinks_from_urls(const std::string& urls,
                                           const std::vector<ComponentDecl>& sources) {
  std::vector<ComponentDecl> out;
  std::map<std::string, int> used;
  size_t start = 0;
  while (start <= urls.size()) {
    // A comma separates two URLs only where the next one starts (`scheme://`): a Kafka URL
    // lists its brokers with commas (kafka://b1:9092,b2:9092/logs), and paths may hold commas.
    size_t comma = start;
    while ((comma = urls.find(',', comma)) != std::string::npos && !starts_url(urls, comma + 1)) {
      ++comma;
    }
    std::string url =
        urls.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? urls.size() + 1 : comma + 1;
    url.erase(0, url.find_first_not_of(" \t"));
    url.erase(url.find_last_not_of(" \t") + 1);
    if (url.empty()) continue;
    size_t sep = url.find("://");
    if (sep == std::string::npos) {
      throw ConfigError(std::string(kUrlVar) + ": `" + shown_url(url) +
                        "` is not a URL such as file:///var/log/out.jsonl or stdout://");
    }
    std::string scheme = url.substr(0, sep);
    std::string rest = url.substr(sep + 3);
    std::string query;
    if (size_t q = rest.find('?'); q != std::string::npos) {
      query = rest.substr(q + 1);
      rest = rest.substr(0, q);
    }
    const ComponentDescriptor* sink = find_sink_scheme(scheme);
    if (sink == nullptr) {
      throw ConfigError(std::string(kUrlVar) + ": unsupported sink scheme `" + scheme +
                        "` (this build supports " + supported_schemes() + ")");
    }
    const UrlSupport& support = *sink->url;
    // `kafka://user:password@host`: the password would reach librdkafka's logs (as part of a
    // host name) or an endpoint's error messages. Paths of file URLs may hold a `@`. The last
    // `@` ends the user-info even when the password holds a `/`.
    if (size_t at = rest.rfind('@'); at != std::string::npos && !support.at_sign_is_path) {
      size_t colon = rest.find(':');
      std::string userinfo = colon < at ? rest.substr(0, colon + 1) : std::string();
      userinfo += secrets::kMask;
      std::string message(kUrlVar);
      message.append(": `").append(scheme).append("://").append(userinfo).append(rest, at);
      message += "`: credentials in a sink URL are not accepted (they would end up in logs)";
      if (!support.credentials_example.empty()) {
        message += "; set them as query parameters from variables, e.g. ";
        message += support.credentials_example;
      }
      throw ConfigError(message);
    }
    YAML::Node node;
    node["type"] = sink->type;
    support.to_options(SinkUrl{scheme, rest}, node);
    OptionSchema schema = sink->schema();
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string pair = query.substr(0, amp);
      query = amp == std::string::npos ? "" : query.substr(amp + 1);
      size_t eq = pair.find('=');
      if (eq == std::string::npos) {
        // A password holding a `&` leaves its tail here: not shown after a secret parameter.
        std::string shown = shown_url(url);
        bool after_secret = shown.find(secrets::kMask) != std::string::npos;
        std::string message = std::string(kUrlVar) + ": `";
        message.append(after_secret ? std::string(secrets::kMask) : pair)
            .append("` in `")
            .append(shown)
            .append("` is not key=value");
        throw ConfigError(message);
      }
      std::string key = percent_decode(pair.substr(0, eq));
      std::string value = percent_decode(pair.substr(eq + 1));
      // `librdkafka.security.protocol=ssl`, `headers.app=service` (kafka), `tls.verify=false`
      // (elasticsearch) and `buffer.type=disk` set one entry of an option that is a mapping.
      size_t dot = key.find('.');
      std::string head = key.substr(0, dot);
      const OptionSpec* head_spec = schema.find(head);
      bool nested = head_spec != nullptr &&
                    (head_spec->type == OptionType::Map || head_spec->type == OptionType::Mapping);
      // Read through a const node: a non-const operator[] would add the key it looks up.
      const YAML::Node& set = node;
      if (dot != std::string::npos && nested) {
        // `auth=x&auth.user=u` cannot make `auth` both a value and a map (yaml-cpp throws its
        // own exception when indexing a scalar).
        std::string sub = key.substr(dot + 1);
        if (set[head] && (!set[head].IsMap() || set[head][sub])) {
          // Not the URL in the message: it may hold a password.
          std::string message(kUrlVar);
          message += ": `" + key + "` in a ";
          message += scheme + ":// URL is set twice, or together with `";
          message += head + "`";
          throw ConfigError(message);
        }
        node[head][sub] = value;
      } else {
        // A key given twice, or one the URL itself sets (`path` of a file URL), would silently
        // lose one of the two values.
        if (set[key]) {
          std::string message(kUrlVar);
          message += ": `" + key + "` in a ";
          message += scheme + ":// URL is set twice, or also by the URL itself";
          throw ConfigError(message);
        }
        node[key] = value;
      }
    }
    YAML::Node inputs(YAML::NodeType::Sequence);
    ComponentDecl decl;
    for (const auto& s : sources) {
      inputs.push_back(s.name);
      decl.inputs.push_back(s.name);
    }
    node["inputs"] = inputs;
    // Named by type: `elasticsearch`, not `elasticsearch+http`.
    std::string kind = node["type"].Scalar();
    int n = ++used[kind];
    decl.name = n == 1 ? kind : kind + "_" + std::to_string(n);
    decl.type = node["type"].Scalar();
    decl.node = node;
    decl.file = kUrlVar;
    out.push_back(std::move(decl));
  }
  return out;
}

const std::vector<OptionSpec>& top_level_options() {
  static const std::vector<OptionSpec> kOptions = {
      {.key = "sources",
       .type = OptionType::Map,
       .description = "component name: its mapping (`type` and options)"},
      {.key = "transforms",
       .type = OptionType::Map,
       .description = "component name: its mapping (`type`, `inputs` and options)"},
      {.key = "sinks",
       .type = OptionType::Map,
       .description = "component name: its mapping (`type`, `inputs` and options)"},
      {.key = "workers",
       .type = OptionType::Integer,
       .default_shown = "the number of cores",
       .description = "parser threads (1 to 256)"},
      {.key = "host_name",
       .type = OptionType::String,
       .default_shown = "the machine's host name",
       .description = "`host.name` of every event"},
      {.key = "data_dir",
       .type = OptionType::String,
       .default_shown = "`$SLUICE_DATA_DIR`, else `./data`",
       .description = "where sources and sinks keep state: checkpoints, disk buffers, "
                      "dead-letter files"},
      {.key = "health_sink_grace",
       .type = OptionType::Duration,
       .default_shown = "60s",
       .description = "how long a sink may fail before `/health/ready` and `/health` say 503"},
  };
  return kOptions;
}

Topology load_topology(const TopologyInputs& inputs) {
  Topology t;
  t.file = inputs.config_path.value_or("<no config file>");
  if (inputs.config_path) {
    t.root = load_config_file(*inputs.config_path);
    if (t.root && !t.root.IsNull() && !t.root.IsMap()) {
      throw_at(t.file, t.root.Mark(),
               std::string("the config is ") +
                   (t.root.IsSequence() ? "a list (a JSON array)" : "a single value") +
                   "; it must be a mapping with `sources`, `transforms` and `sinks`, e.g. "
                   "`sinks: {out: {type: stdout, inputs: [app]}}` (in JSON: "
                   "{\"sinks\": {\"out\": {\"type\": \"stdout\", \"inputs\": [\"app\"]}}})");
    }
    remember_secret_values(t.root, inputs.env);
    std::vector<std::string> top_level;
    for (const OptionSpec& option : top_level_options()) top_level.push_back(option.key);
    if (t.root.IsMap()) {
      for (auto it = t.root.begin(); it != t.root.end(); ++it) {
        const std::string& key = it->first.Scalar();
        if (std::find(top_level.begin(), top_level.end(), key) == top_level.end()) {
          throw_at(t.file, it->first.Mark(),
                   "unknown top-level key `" + key + "`" + suggestion(key, top_level));
        }
      }
    }
    t.sources = read_section(t.root, "sources", t.file, inputs.env);
    t.transforms = read_section(t.root, "transforms", t.file, inputs.env);
    t.sinks = read_section(t.root, "sinks", t.file, inputs.env);
  }
  if (!inputs.exec_command.empty()) {
    YAML::Node command(YAML::NodeType::Sequence);
    // Command-line arguments are taken literally: `$` is escaped so interpolation leaves it.
    for (const auto& arg : inputs.exec_command) {
      std::string escaped;
      for (char c : arg) escaped += c == '$' ? std::string("$$") : std::string(1, c);
      command.push_back(escaped);
    }
    auto declared = std::find_if(t.sources.begin(), t.sources.end(),
                                 [](const ComponentDecl& s) { return s.name == "app"; });
    if (declared == t.sources.end()) {
      YAML::Node node;
      node["type"] = "exec";
      node["command"] = command;
      t.sources.push_back(ComponentDecl{"app", "exec", {}, node, "command line"});
    } else if (declared->type != "exec" || declared->node["command"]) {
      // The config may declare `app` (type exec, no command) to set its options; the command
      // line then supplies the command.
      fail_component(*declared,
                     "source `app` is defined by `sluice run -- COMMAND`: declare it with "
                     "`type: exec` and no `command`, or rename it");
    } else {
      declared->node["command"] = command;
    }
  }
  if (t.sources.empty() && !inputs.config_path) {
    // `producer | SLUICE_SINKS=stdout:// sluice run`: no file, read stdin.
    YAML::Node node;
    node["type"] = "stdin";
    t.sources.push_back(ComponentDecl{"stdin", "stdin", {}, node, "defaults"});
  }
  if (inputs.sinks_env && !inputs.sinks_env->empty()) {
    for (auto& sink : sinks_from_urls(*inputs.sinks_env, t.sources)) {
      remember_secret_values(sink.node, inputs.env);
      t.sinks.push_back(std::move(sink));
    }
  }
  validate(t);
  return t;
}

std::string describe(const Topology& t) {
  std::string out;
  auto consumers = [&](const std::string& name) {
    std::string list;
    for (auto* l : {&t.transforms, &t.sinks}) {
      for (const auto& c : *l) {
        if (std::find(c.inputs.begin(), c.inputs.end(), name) != c.inputs.end()) {
          list += list.empty() ? "" : ", ";
          list += c.name;
        }
      }
    }
    return list;
  };
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  out += "sources:\n";
  for (const auto& c : t.sources)
    out += "  " + c.name + " (" + c.type + ") -> " + consumers(c.name) + "\n";
  if (!t.transforms.empty()) {
    out += "transforms:\n";
    for (const auto& c : t.transforms) {
      out += "  " + c.name + " (" + c.type + ") <- " + join(c.inputs) + " -> " + consumers(c.name) +
             "\n";
    }
  }
  out += "sinks:\n";
  for (const auto& c : t.sinks)
    out += "  " + c.name + " (" + c.type + ") <- " + join(c.inputs) + "\n";
  return out;
}

}  // namespace sluice
