// The `elasticsearch` sink's configuration: YAML options (and SLUICE_SINKS URLs, which become
// the same options) → ElasticsearchSinkOptions. Every check that can be made before running is
// made here, so that a mistake is a config error with its line (exit 78).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "base/secrets.hpp"
#include "options/build_context.hpp"
#include "options/components.hpp"
#include "options/config_error.hpp"
#include "options/descriptor.hpp"
#include "sinks/elasticsearch/elasticsearch_sink.hpp"

namespace sluice {

namespace {

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t k = 0;
  for (; k + 2 < in.size(); k += 3) {
    uint32_t v = (uint32_t{static_cast<unsigned char>(in[k])} << 16) |
                 (uint32_t{static_cast<unsigned char>(in[k + 1])} << 8) |
                 static_cast<unsigned char>(in[k + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  if (k < in.size()) {
    uint32_t v = uint32_t{static_cast<unsigned char>(in[k])} << 16;
    if (k + 1 < in.size()) v |= uint32_t{static_cast<unsigned char>(in[k + 1])} << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(k + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// The fixed text of an index template (placeholders and time fields left out), and whether the
// name starts with it.
struct FixedText {
  std::vector<std::string> parts;
  bool leading = false;
};

FixedText fixed_text(std::string_view text) {
  FixedText out;
  std::string part;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "{{") == 0) {
      size_t close = text.find("}}", i + 2);
      if (!part.empty()) out.parts.push_back(std::move(part));
      part.clear();
      i = close == std::string_view::npos ? text.size() : close + 1;
    } else if (text[i] == '%' && i + 1 < text.size() && text[i + 1] != '%') {
      if (!part.empty()) out.parts.push_back(std::move(part));
      part.clear();
      ++i;
    } else {
      if (i == 0) out.leading = true;
      part.push_back(text[i]);
      if (text[i] == '%') ++i;  // %% is one '%'
    }
  }
  if (!part.empty()) out.parts.push_back(std::move(part));
  return out;
}

// Checks the index template's fixed text against Elasticsearch's naming rules. Empty when fine.
std::string check_index_template(const Template& index, bool data_stream) {
  std::string what = data_stream ? "a data stream name" : "an index name";
  if (index.is_static()) {
    if (!es::is_valid_index_name(index.text())) {
      return "`" + index.text() + "` is not valid as " + what +
             ": lowercase, no \\ / * ? \" < > | , # : or spaces, not starting with - _ +, "
             "at most 255 bytes";
    }
  } else {
    FixedText fixed = fixed_text(index.text());
    for (const std::string& part : fixed.parts) {
      for (char c : part) {
        if ((c >= 'A' && c <= 'Z') || es::forbidden_in_index(static_cast<unsigned char>(c))) {
          return "`" + index.text() + "`: the character `" + std::string(1, c) +
                 "` is not allowed in " + what +
                 " (lowercase, no \\ / * ? \" < > | , # : or spaces)";
        }
      }
    }
    if (fixed.leading && !fixed.parts.empty() &&
        std::string_view("-_+").find(fixed.parts[0][0]) != std::string_view::npos) {
      return "`" + index.text() + "`: " + what + " cannot start with - _ +";
    }
  }
  if (data_stream && index.text().rfind(".ds-", 0) == 0) {
    return "`" + index.text() + "`: a data stream name cannot start with `.ds-`";
  }
  return "";
}

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string::npos; }

void read_endpoints(MapReader& config, net::HttpClientOptions& transport) {
  // `endpoint: URL` is an alias of `endpoints`, for one.
  std::vector<std::string> urls = config.string_list("endpoints");
  if (urls.empty()) {
    config.fail_here("`endpoints` is required: one or more URLs such as http://localhost:9200");
  }
  for (const std::string& url : urls) {
    net::Endpoint endpoint;
    std::string error;
    if (!es::parse_endpoint(url, &endpoint, &error)) config.fail("endpoints", error);
    transport.endpoints.push_back(std::move(endpoint));
  }
}

void read_auth(MapReader& config, net::HttpClientOptions& transport) {
  MapReader auth = config.sub("auth");
  std::optional<std::string> user = auth.string("user");
  std::optional<std::string> password = auth.string("password");
  std::optional<std::string> api_key = auth.string("api_key");
  auth.finish();
  if (!user && !password && !api_key) return;
  std::string value;
  if (api_key) {
    if (user || password) auth.fail("api_key", "use `api_key` or `user`/`password`, not both");
    if (api_key->empty()) auth.fail("api_key", "`api_key` is empty (is the variable set?)");
    if (has_line_break(*api_key)) auth.fail("api_key", "`api_key` contains a line break");
    value = "ApiKey " + *api_key;
  } else {
    if (!user || user->empty()) auth.fail_here("`auth` needs `user` with `password`");
    if (!password) auth.fail_here("`auth` needs `password` with `user`");
    if (user->find(':') != std::string::npos) auth.fail("user", "`user` cannot contain `:`");
    std::string credentials = base64(*user + ":" + *password);
    // The header's value is the password, only encoded.
    secrets::remember(credentials);
    value = "Basic " + credentials;
  }
  transport.headers.emplace_back("Authorization", std::move(value));
}

void read_tls(MapReader& config, net::HttpClientOptions& transport) {
  MapReader tls = config.sub("tls");
  net::TlsOptions& o = transport.tls;
  o.ca_file = tls.string("ca_file", "");
  o.verify = tls.boolean("verify", true);
  o.cert_file = tls.string("cert_file", "");
  o.key_file = tls.string("key_file", "");
  tls.finish();
  if (o.cert_file.empty() != o.key_file.empty()) {
    tls.fail(o.cert_file.empty() ? "key_file" : "cert_file",
             "`cert_file` and `key_file` go together (a client certificate and its key)");
  }
  for (const auto& [key, path] : {std::pair<const char*, const std::string&>{"ca_file", o.ca_file},
                                  {"cert_file", o.cert_file},
                                  {"key_file", o.key_file}}) {
    if (!path.empty() && ::access(path.c_str(), R_OK) != 0) {
      tls.fail(key, "cannot read `" + path + "`");
    }
  }
}

std::unique_ptr<Sink> make_elasticsearch_sink(MapReader& config, const std::string& name,
                                              const BuildContext& context) {
  ElasticsearchSinkOptions o;
  o.name = name;
  o.data_dir = context.data_dir;
  read_endpoints(config, o.transport);

  bool data_stream = config.choice<bool>("mode", false, {{"index", false}, {"data_stream", true}});
  o.action.action = data_stream ? es::Action::Create : es::Action::Index;
  std::string index_text = config.string("index", "sluice-%Y.%m.%d");
  std::string error;
  std::optional<Template> index = Template::parse(index_text, &error);
  if (!index) config.fail("index", error);
  o.index = std::move(*index);
  if (std::string problem = check_index_template(o.index, data_stream); !problem.empty()) {
    config.fail("index", problem);
  }
  o.action.default_index = config.string("default_index", "");
  if (!o.action.default_index.empty() && !es::is_valid_index_name(o.action.default_index)) {
    config.fail("default_index", "`default_index`: `" + o.action.default_index +
                                     "` is not a valid index name: lowercase, no \\ / * ? \" < > "
                                     "| , # : or spaces, not starting with - _ +");
  }
  // Without `default_index`, a missing field renders as "unknown" in place; a name that
  // sanitises to nothing still needs somewhere to go.
  o.index.set_sink_rendering(Template::RenderMode::IndexName, o.action.default_index.empty()
                                                                  ? std::string("unknown")
                                                                  : std::string(es::kMissingField));
  if (o.action.default_index.empty()) o.action.default_index = "unknown";

  std::string id = config.string("id", "auto");
  if (id == "none") {
    o.action.id = es::IdMode::None;
  } else if (id == "auto") {
    o.action.id = es::IdMode::Auto;
  } else {
    std::optional<Template> id_template = Template::parse(id, &error);
    if (!id_template) config.fail("id", error);
    if (id_template->is_static()) {
      config.fail("id",
                  "`id` must be none, auto or a template such as \"{{ request_id }}\" "
                  "(a fixed id would make every event overwrite the previous one)");
    }
    // The value as it is; a missing field is marked so that Elasticsearch generates the id.
    id_template->set_sink_rendering(Template::RenderMode::Raw, std::string(es::kMissingField));
    o.action.id = es::IdMode::Template;
    o.id_template = std::move(*id_template);
  }

  o.pipeline = config.string("pipeline", "");
  o.gzip = config.choice<bool>("compression", false, {{"none", false}, {"gzip", true}});
  o.dedot = config.boolean("dedot", true);
  read_auth(config, o.transport);
  read_tls(config, o.transport);
  o.transport.timeout_ns = config.duration_ns("timeout", 60'000'000'000);
  if (o.transport.timeout_ns <= 0) config.fail("timeout", "`timeout` must be positive");
  o.max_batch_bytes = config.size("max_batch_bytes", o.max_batch_bytes);
  if (o.max_batch_bytes < 1024 || o.max_batch_bytes > (1ULL << 30)) {
    config.fail("max_batch_bytes", "`max_batch_bytes` must be between 1KiB and 1GiB");
  }
  o.max_batch_events = static_cast<size_t>(
      config.integer("max_batch_events", static_cast<int64_t>(o.max_batch_events), 1, 1'000'000));
  o.flush_interval_ns = config.duration_ns("flush_interval", o.flush_interval_ns);
  if (o.flush_interval_ns <= 0) config.fail("flush_interval", "`flush_interval` must be positive");
  o.concurrency = static_cast<size_t>(config.integer("concurrency", 2, 1, 64));
  o.transport.max_idle_connections = o.concurrency;
  o.retry_backoff_min_ns = config.duration_ns("retry_backoff_min", o.retry_backoff_min_ns);
  o.retry_backoff_max_ns = config.duration_ns("retry_backoff_max", o.retry_backoff_max_ns);
  if (o.retry_backoff_min_ns <= 0) {
    config.fail("retry_backoff_min", "`retry_backoff_min` must be positive");
  }
  if (o.retry_backoff_max_ns < o.retry_backoff_min_ns) {
    config.fail("retry_backoff_max", "`retry_backoff_max` must be at least `retry_backoff_min`");
  }
  o.flush_timeout_ns = default_sink_flush_timeout_ns(context);
  return std::make_unique<ElasticsearchSink>(std::move(o));
}

// elasticsearch+http://host:9200[,host2:9200][/prefix]/index: one endpoint per host, the last
// path segment is the index (the default one when absent).
void elasticsearch_url_options(const SinkUrl& url, YAML::Node& options) {
  std::string web = url.scheme.substr(url.scheme.find('+') + 1);
  size_t slash = url.rest.find('/');
  std::string hosts = url.rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : url.rest.substr(slash);
  if (hosts.empty() || hosts.front() == ',' || hosts.back() == ',' ||
      hosts.find(",,") != std::string::npos) {
    throw ConfigError(std::string(kSinkUrlVariable) +
                      ": Elasticsearch URLs name hosts and an index: "
                      "elasticsearch+http://host:9200/index");
  }
  size_t last = path.rfind('/');
  std::string prefix = last == std::string::npos ? "" : path.substr(0, last);
  std::string index = last == std::string::npos ? "" : path.substr(last + 1);
  YAML::Node endpoints(YAML::NodeType::Sequence);
  for (size_t begin = 0; begin <= hosts.size();) {
    size_t end = std::min(hosts.find(',', begin), hosts.size());
    std::string endpoint = web;
    endpoint.append("://").append(hosts, begin, end - begin).append(prefix);
    endpoints.push_back(endpoint);
    begin = end + 1;
  }
  options["endpoints"] = endpoints;
  if (!index.empty()) options["index"] = percent_decode(index);
}

}  // namespace

}  // namespace sluice

namespace sluice {

namespace {

std::vector<OptionSpec> auth_options() {
  return {
      {.key = "user", .type = OptionType::String, .description = "basic auth user (no `:`)"},
      {.key = "password",
       .type = OptionType::String,
       .description = "basic auth password; use `${VAR}`",
       .secret = true},
      {.key = "api_key",
       .type = OptionType::String,
       .description = "an API key (instead of `user`/`password`); use `${VAR}`",
       .secret = true},
  };
}

std::vector<OptionSpec> tls_options() {
  return {
      {.key = "ca_file",
       .type = OptionType::String,
       .default_shown = "the system's CAs",
       .description = "PEM file of the CAs to trust"},
      {.key = "verify",
       .type = OptionType::Bool,
       .default_shown = "true",
       .description = "verify the server's certificate and host name"},
      {.key = "cert_file",
       .type = OptionType::String,
       .description = "client certificate (PEM), with `key_file`"},
      {.key = "key_file",
       .type = OptionType::String,
       .description = "the client certificate's key (PEM), with `cert_file`"},
  };
}

}  // namespace

const ComponentDescriptor& elasticsearch_sink_descriptor() {
  static const ComponentDescriptor descriptor{
      .kind = ComponentKind::Sink,
      .type = "elasticsearch",
      .summary = "indexes events into Elasticsearch or OpenSearch through the `_bulk` API",
      .options =
          {
              {.key = "endpoints",
               .type = OptionType::List,
               .description = "one or more `http(s)://host[:port][/prefix]`, round-robin; one "
                              "that fails is skipped for a while; credentials in a URL are "
                              "refused (use `auth`)",
               .required = true,
               .aliases = {"endpoint"}},
              {.key = "index",
               .type = OptionType::Template,
               .default_shown = "sluice-%Y.%m.%d",
               .description =
                   "strftime from `@timestamp` (UTC), `{{ field }}`; rendered names are "
                   "made valid (lowercase; `\\ / * ? \" < > | , # :` and spaces become "
                   "`_`; no leading `-_+`; at most 255 bytes); its own text must already be valid"},
              {.key = "default_index",
               .type = OptionType::String,
               .default_shown = "`unknown` in place of the field",
               .description = "where an event goes when a field of `index` is missing (or "
                              "renders to nothing)"},
              {.key = "mode",
               .type = OptionType::Enum,
               .default_shown = "index",
               .description = "`index` writes with the `index` action (the same `_id` overwrites); "
                              "`data_stream` with `create`, which data streams require (a name "
                              "must not start with `.ds-`)",
               .choices = {"index", "data_stream"}},
              {.key = "id",
               .type = OptionType::Template,
               .default_shown = "auto",
               .description = "the `_id`: `auto` (from the event's origin: a replay overwrites), "
                              "`none` (Elasticsearch generates ids), or `\"{{ field }}\"` (an "
                              "event without the field gets a generated one)"},
              {.key = "pipeline",
               .type = OptionType::String,
               .description = "ingest pipeline (`/_bulk?pipeline=name`)"},
              {.key = "compression",
               .type = OptionType::Enum,
               .default_shown = "none",
               .description = "gzip (zlib level 1) the request bodies, on threads of their own",
               .choices = {"none", "gzip"}},
              {.key = "dedot",
               .type = OptionType::Bool,
               .default_shown = "true",
               .description = "dots in the keys of `kubernetes.labels`, "
                              "`kubernetes.annotations` and `kubernetes.namespace_labels` are "
                              "written as `_` (`app.kubernetes.io/name` → "
                              "`app_kubernetes_io/name`): Elasticsearch reads dotted keys as "
                              "object paths, and labels `app` and `app.kubernetes.io/name` would "
                              "collide (a mapping conflict that rejects documents)"},
              {.key = "auth",
               .type = OptionType::Mapping,
               .description = "the `Authorization` header: `{user, password}` (Basic) or "
                              "`{api_key}` (ApiKey)",
               .nested = auth_options()},
              {.key = "tls",
               .type = OptionType::Mapping,
               .description = "for `https://` endpoints",
               .nested = tls_options()},
              {.key = "timeout",
               .type = OptionType::Duration,
               .default_shown = "60s",
               .description = "one request: connect, TLS handshake, send and answer, together"},
              {.key = "max_batch_bytes",
               .type = OptionType::Size,
               .default_shown = "5MiB",
               .description = "one bulk body (uncompressed), 1KiB to 1GiB; a single larger event "
                              "is sent alone"},
              {.key = "max_batch_events",
               .type = OptionType::Integer,
               .default_shown = "10000",
               .description = "events per request (1 to 1000000)"},
              {.key = "flush_interval",
               .type = OptionType::Duration,
               .default_shown = "1s",
               .description = "a partial request goes out after this (or as soon as the sink's "
                              "queue is idle and a request slot is free)"},
              {.key = "concurrency",
               .type = OptionType::Integer,
               .default_shown = "2",
               .description = "bulk requests outstanding, in flight or waiting to be retried (1 "
                              "to 64)"},
              {.key = "retry_backoff_min",
               .type = OptionType::Duration,
               .default_shown = "100ms",
               .description = "first retry delay; doubles per failed attempt, jittered (half to "
                              "all of it)"},
              {.key = "retry_backoff_max",
               .type = OptionType::Duration,
               .default_shown = "30s",
               .description = "the longest retry delay"},
          },
      .make_sink = &make_elasticsearch_sink,
      .url =
          UrlSupport{.schemes = {"elasticsearch+http", "elasticsearch+https"},
                     .to_options = &elasticsearch_url_options,
                     .credentials_example = "`?auth.user=${ES_USER}&auth.password=${ES_PASSWORD}`"},
  };
  return descriptor;
}

}  // namespace sluice
