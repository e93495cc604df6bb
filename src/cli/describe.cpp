#include "cli/describe.hpp"

#include <algorithm>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "config/component_list.hpp"
#include "config/topology.hpp"
#include "options/map_reader.hpp"

namespace sluice::cli {

namespace {

constexpr ComponentKind kKinds[] = {ComponentKind::Source, ComponentKind::Transform,
                                    ComponentKind::Sink};

// What `describe` shows: one component, or the options every component of a kind has.
struct Subject {
  std::string title;
  std::string summary;
  const std::vector<OptionSpec>* options = nullptr;
  const ComponentDescriptor* component = nullptr;  // null for a kind
};

std::optional<ComponentKind> kind_named(const std::string& name) {
  for (ComponentKind kind : kKinds) {
    std::string singular(component_kind_name(kind));
    if (name == singular || name == singular + "s") return kind;
  }
  return std::nullopt;
}

std::optional<Subject> resolve(const std::string& name, std::string* error) {
  if (name == "config") {
    return Subject{"config", "the top level of the config file", &top_level_options(), nullptr};
  }
  if (std::optional<ComponentKind> kind = kind_named(name)) {
    return Subject{"every " + std::string(component_kind_name(*kind)),
                   "options every " + std::string(component_kind_name(*kind)) +
                       " has, besides those of its type",
                   &shared_options(*kind), nullptr};
  }
  std::vector<const ComponentDescriptor*> found;
  std::vector<std::string> known;
  for (const ComponentDescriptor* d : component_list()) {
    known.push_back(d->qualified_name());
    known.push_back(d->type);
    if (d->qualified_name() == name || d->type == name) found.push_back(d);
  }
  if (found.size() == 1) {
    const ComponentDescriptor* d = found[0];
    return Subject{d->qualified_name(), d->summary, &d->options, d};
  }
  if (found.empty()) {
    *error = "unknown component `" + name + "`" + suggestion(name, known) +
             " (`sluice list` shows them all)";
  } else {
    *error = "`" + name + "` names more than one component: use";
    for (size_t i = 0; i < found.size(); ++i) {
      *error += (i == 0 ? " " : i + 1 == found.size() ? " or " : ", ") + found[i]->qualified_name();
    }
  }
  return std::nullopt;
}

std::string type_shown(const OptionSpec& o, const std::string& separator) {
  if (o.type != OptionType::Enum) return std::string(option_type_name(o.type));
  std::string out;
  for (const std::string& choice : o.choices) out += (out.empty() ? "" : separator) + choice;
  return out;
}

std::string default_shown(const OptionSpec& o) {
  if (o.required) return "required";
  return o.default_shown.empty() ? "-" : o.default_shown;
}

std::string marks(const OptionSpec& o) {
  std::string out;
  if (o.secret) out += " [secret]";
  if (o.reloadable) out += " [reloadable]";
  return out;
}

struct Row {
  std::string key;
  std::string type;
  std::string default_value;
  std::string description;
};

void text_rows(const std::vector<OptionSpec>& options, const std::string& indent,
               std::vector<Row>& rows) {
  for (const OptionSpec& o : options) {
    std::string key = indent + o.key;
    for (const std::string& alias : o.aliases) key += " (alias " + alias + ")";
    rows.push_back({key, type_shown(o, "|"), default_shown(o), o.description + marks(o)});
    text_rows(o.nested, indent + "  ", rows);
  }
}

std::string text(const Subject& subject) {
  std::string out = subject.title + ": " + subject.summary + "\n";
  if (subject.component != nullptr && subject.component->url) {
    out += "SLUICE_SINKS schemes:";
    for (const std::string& s : subject.component->url->schemes) out += " " + s + "://";
    out += "\n";
  }
  std::vector<Row> rows;
  text_rows(*subject.options, "  ", rows);
  if (rows.empty()) {
    out += "\nNo options of its own.\n";
  } else {
    size_t key_width = 0, type_width = 0, default_width = 0;
    for (const Row& r : rows) {
      key_width = std::max(key_width, r.key.size());
      type_width = std::max(type_width, r.type.size());
      default_width = std::max(default_width, r.default_value.size());
    }
    out += "\nOptions:\n";
    for (const Row& r : rows) {
      out += r.key + std::string(key_width - r.key.size() + 2, ' ');
      out += r.type + std::string(type_width - r.type.size() + 2, ' ');
      out += r.default_value + std::string(default_width - r.default_value.size() + 2, ' ');
      out += r.description + "\n";
    }
  }
  if (subject.component != nullptr) {
    std::string kind(component_kind_name(subject.component->kind));
    out += "\nAlso the options of every " + kind + ": `sluice describe " + kind + "`.\n";
  }
  return out;
}

std::string escape_cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

void markdown_rows(const std::vector<OptionSpec>& options, const std::string& prefix,
                   std::string& out) {
  for (const OptionSpec& o : options) {
    std::string key = "`" + prefix + o.key + "`";
    for (const std::string& alias : o.aliases) key += " (alias `" + prefix + alias + "`)";
    std::string type = o.type == OptionType::Enum ? "`" + type_shown(o, "` \\| `") + "`"
                                                  : std::string(option_type_name(o.type));
    // A literal value in code style; a default in words ("80% of the shutdown timeout") not.
    bool literal = o.default_shown.find(' ') == std::string::npos;
    std::string default_value;
    if (o.required) {
      default_value = "required";
    } else if (!o.default_shown.empty()) {
      default_value = literal ? "`" + o.default_shown + "`" : escape_cell(o.default_shown);
    }
    std::string description = escape_cell(o.description);
    if (o.secret) description += " — *secret*";
    if (o.reloadable) description += " — *reloadable*";
    out += "| " + key + " | " + type + " | " + default_value + " | " + description + " |\n";
    markdown_rows(o.nested, prefix + o.key + ".", out);
  }
}

std::string markdown(const Subject& subject) {
  std::string out;
  if (subject.options->empty()) return "No options of its own.\n";
  out += "| option | type | default | description |\n|---|---|---|---|\n";
  markdown_rows(*subject.options, "", out);
  return out;
}

}  // namespace

std::string list_text() {
  size_t type_width = 0;
  for (const ComponentDescriptor* d : component_list()) {
    type_width = std::max(type_width, d->type.size());
  }
  std::string out;
  for (const ComponentDescriptor* d : component_list()) {
    std::string kind(component_kind_name(d->kind));
    out += kind + std::string(10 - kind.size(), ' ') + d->type +
           std::string(type_width - d->type.size() + 2, ' ') + d->summary + "\n";
  }
  return out;
}

std::string describe_text(const DescribeArgs& args, std::string* error) {
  std::optional<Subject> subject = resolve(args.name, error);
  if (!subject) return "";
  return args.markdown ? markdown(*subject) : text(*subject);
}

CLI::App* add_list_subcommand(CLI::App& app) {
  return app.add_subcommand("list", "List every component type: kind, type, what it does");
}

CLI::App* add_describe_subcommand(CLI::App& app, DescribeArgs& args) {
  CLI::App* describe = app.add_subcommand(
      "describe", "Print a component's options: type, default, description (e.g. sink/kafka)");
  describe
      ->add_option("TYPE", args.name,
                   "sink/kafka, or kafka when only one kind has it; source, transform or sink: "
                   "the options every one of that kind has; config: the file's top level")
      ->required();
  describe->add_flag("--markdown", args.markdown, "Print the README's Markdown table");
  return describe;
}

int list_command() {
  std::cout << list_text();
  return 0;
}

int describe_command(const DescribeArgs& args) {
  std::string error;
  std::string out = describe_text(args, &error);
  if (!error.empty()) {
    std::cerr << "sluice: " << error << "\n";
    return 64;  // EX_USAGE
  }
  std::cout << out;
  return 0;
}

}  // namespace sluice::cli
