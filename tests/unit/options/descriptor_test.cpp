// The option schemas (options/descriptor.hpp): MapReader checks code against schema, suggests
// from it and resolves aliases; every descriptor of the component list is well-formed.
#include "options/descriptor.hpp"

#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/component_list.hpp"
#include "options/config_error.hpp"
#include "options/map_reader.hpp"

namespace sluice {
namespace {

std::optional<std::string> no_variable(const std::string&) { return std::nullopt; }

const std::vector<OptionSpec>& test_options() {
  static const std::vector<OptionSpec> kOptions = {
      {.key = "endpoints", .type = OptionType::List, .aliases = {"endpoint"}},
      {.key = "timeout", .type = OptionType::Duration},
      {.key = "mode", .type = OptionType::Enum, .choices = {"index", "data_stream"}},
      {.key = "labels", .type = OptionType::Map},
      {.key = "tls",
       .type = OptionType::Mapping,
       .nested = {{.key = "verify", .type = OptionType::Bool}}},
  };
  return kOptions;
}

MapReader reader(const std::string& yaml) {
  auto schema = std::make_shared<const OptionSchema>(
      "sink/test", std::vector<std::span<const OptionSpec>>{test_options()});
  return MapReader(YAML::Load(yaml), "sink `t`", "test.yaml", no_variable, schema);
}

std::string logic_error_of(const std::function<void()>& read) {
  try {
    read();
  } catch (const std::logic_error& e) {
    return e.what();
  }
  return "";
}

std::string config_error_of(const std::function<void()>& read) {
  try {
    read();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(OptionSchema, ReadingAnUndeclaredKeyIsAnInternalError) {
  MapReader r = reader("{timeout: 1s}");
  std::string e = logic_error_of([&] { r.string("tmeout"); });
  EXPECT_NE(e.find("sink/test"), std::string::npos) << e;
  EXPECT_NE(e.find("`tmeout`"), std::string::npos) << e;
  // An alias is how users may write a key; code reads the key itself.
  EXPECT_NE(logic_error_of([&] { r.string_list("endpoint"); }), "");
}

TEST(OptionSchema, ReadingAsAnotherTypeIsAnInternalError) {
  MapReader r = reader("{timeout: 1s}");
  std::string e = logic_error_of([&] { r.size("timeout", 0); });
  EXPECT_NE(e.find("`timeout`"), std::string::npos) << e;
  EXPECT_NE(e.find("duration"), std::string::npos) << e;
  EXPECT_EQ(logic_error_of([&] { r.duration_ns("timeout", 0); }), "");
}

TEST(OptionSchema, ChoicesMustMatchTheSchema) {
  MapReader r = reader("{mode: index}");
  std::string e = logic_error_of([&] { r.choice<int>("mode", 0, {{"index", 0}, {"stream", 1}}); });
  EXPECT_NE(e.find("`mode`"), std::string::npos) << e;
  EXPECT_EQ(r.choice<int>("mode", 1, {{"index", 0}, {"data_stream", 1}}), 0);
}

TEST(OptionSchema, FinishSuggestsFromTheSchemaNotOnlyFromWhatWasRead) {
  MapReader r = reader("{timeout: 1s, tsl: {verify: false}}");
  r.duration_ns("timeout", 0);
  std::string e = config_error_of([&] { r.finish(); });
  EXPECT_NE(e.find("unknown key `tsl` (did you mean `tls`?)"), std::string::npos) << e;
  MapReader aliased = reader("{endpont: x}");
  e = config_error_of([&] { aliased.finish(); });
  EXPECT_NE(e.find("did you mean `endpoint`"), std::string::npos) << e;
}

TEST(OptionSchema, AnAliasReadsAsItsKeyAndBothAtOnceIsAnError) {
  MapReader r = reader("{endpoint: 'http://a'}");
  EXPECT_EQ(r.string_list("endpoints"), std::vector<std::string>{"http://a"});
  EXPECT_TRUE(r.has("endpoints"));
  EXPECT_NO_THROW(r.finish());
  MapReader both = reader("{endpoint: 'http://a', endpoints: ['http://b']}");
  std::string e = config_error_of([&] { both.string_list("endpoints"); });
  EXPECT_NE(e.find("not both"), std::string::npos) << e;
  EXPECT_NE(e.find("test.yaml:1:"), std::string::npos) << e;
}

TEST(OptionSchema, NestedMappingsHaveTheirOwnSchemaAndFreeFormMapsNone) {
  MapReader r = reader("{tls: {verify: false}, labels: {anything: goes}}");
  MapReader tls = r.sub("tls");
  EXPECT_FALSE(tls.boolean("verify", true));
  EXPECT_NE(logic_error_of([&] { tls.string("ca_file"); }), "");
  MapReader labels = r.sub("labels");
  EXPECT_EQ(labels.string("anything"), "goes");
  // A scalar option is no mapping.
  EXPECT_NE(logic_error_of([&] { r.sub("timeout"); }), "");
}

TEST(OptionSchema, ReadersWithoutASchemaReadAnyKey) {
  MapReader r(YAML::Load("{x: 1}"), "config", "test.yaml", no_variable);
  EXPECT_EQ(r.integer("x", 0, 0, 10), 1);
  EXPECT_EQ(r.string("y"), std::nullopt);
}

void expect_well_formed(const std::vector<OptionSpec>& options, const std::string& owner) {
  std::set<std::string> keys;
  for (const OptionSpec& o : options) {
    std::string where = owner + " `" + o.key + "`";
    EXPECT_FALSE(o.key.empty()) << owner;
    EXPECT_TRUE(keys.insert(o.key).second) << where << " is declared twice";
    for (const std::string& alias : o.aliases) EXPECT_TRUE(keys.insert(alias).second) << where;
    EXPECT_FALSE(o.description.empty()) << where << " has no description";
    EXPECT_EQ(o.description.find('\n'), std::string::npos) << where;
    EXPECT_EQ(o.type == OptionType::Enum, !o.choices.empty()) << where;
    if (o.type == OptionType::Mapping) {
      EXPECT_FALSE(o.nested.empty()) << where;
    }
    if (o.required) {
      EXPECT_TRUE(o.default_shown.empty()) << where << ": required with a default";
    }
    expect_well_formed(o.nested, where);
  }
}

TEST(ComponentList, EveryDescriptorIsWellFormed) {
  std::set<std::string> names;
  std::set<std::string> schemes;
  for (const ComponentDescriptor* d : component_list()) {
    EXPECT_TRUE(names.insert(d->qualified_name()).second) << d->qualified_name();
    EXPECT_FALSE(d->summary.empty()) << d->qualified_name();
    EXPECT_EQ(d->make_source != nullptr, d->kind == ComponentKind::Source) << d->qualified_name();
    EXPECT_EQ(d->make_transform != nullptr, d->kind == ComponentKind::Transform)
        << d->qualified_name();
    EXPECT_EQ(d->make_sink != nullptr, d->kind == ComponentKind::Sink) << d->qualified_name();
    std::vector<OptionSpec> all = shared_options(d->kind);
    all.insert(all.end(), d->options.begin(), d->options.end());
    expect_well_formed(all, d->qualified_name());
    if (d->url) {
      EXPECT_EQ(d->kind, ComponentKind::Sink);
      EXPECT_NE(d->url->to_options, nullptr) << d->qualified_name();
      for (const std::string& s : d->url->schemes) {
        EXPECT_TRUE(schemes.insert(s).second) << s;
        EXPECT_EQ(find_sink_scheme(s), d);
      }
    }
    EXPECT_EQ(find_component(d->kind, d->type), d);
  }
  EXPECT_EQ(find_component(ComponentKind::Sink, "stdin"), nullptr);
  EXPECT_EQ(component_types(ComponentKind::Transform),
            (std::vector<std::string>{"filter", "remap", "throttle"}));
}

}  // namespace
}  // namespace sluice
