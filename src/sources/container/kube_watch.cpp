#include "sources/container/kube_watch.hpp"

#include <malloc.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <iterator>

#include <fmt/format.h>

#include "base/clock.hpp"
#include "base/log.hpp"

namespace sluice::kube {

namespace od = simdjson::ondemand;

namespace {

int rank(ApiState state) {
  switch (state) {
    case ApiState::Synced:
      return 0;
    case ApiState::Starting:
      return 1;
    case ApiState::Failing:
      return 2;
    case ApiState::Unreachable:
      return 3;
    case ApiState::Forbidden:
      return 4;
    case ApiState::Unauthorized:
      return 5;
  }
  return 5;
}

// A watch that ends this soon without a line is treated as a failure: a server that closes
// watches at once must not be polled in a tight loop.
constexpr int64_t kShortestCleanWatchNs = 1'000'000'000;

}  // namespace

int64_t watch_idle_margin_ns(uint32_t watch_timeout_s) {
  const int64_t tenth = static_cast<int64_t>(watch_timeout_s) * 100'000'000;
  return std::clamp<int64_t>(tenth, 2'000'000'000, 30'000'000'000);
}

KubeTime real_kube_time() { return KubeTime{.now_ns = monotonic_ns, .sleep_ns = {}}; }

std::string url_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

// ---- TokenSource ----

TokenSource::TokenSource(std::string path, KubeTime time, int64_t reread_ns)
    : path_(std::move(path)), time_(std::move(time)), reread_ns_(reread_ns) {}

std::string TokenSource::authorization() {
  if (path_.empty()) return {};
  std::lock_guard lock(mutex_);
  const int64_t now = time_.now_ns();
  if (valid_ && now - read_at_ns_ < reread_ns_) return header_;
  std::ifstream in(path_, std::ios::binary);
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  ++reads_;
  read_at_ns_ = now;
  valid_ = true;
  header_ = token.empty() ? std::string() : "Bearer " + token;
  return header_;
}

void TokenSource::invalidate() {
  std::lock_guard lock(mutex_);
  valid_ = false;
}

// ---- KubeStatus ----

std::string_view api_state_name(ApiState state) {
  switch (state) {
    case ApiState::Starting:
      return "starting";
    case ApiState::Synced:
      return "synced";
    case ApiState::Unreachable:
      return "unreachable";
    case ApiState::Unauthorized:
      return "unauthorized";
    case ApiState::Forbidden:
      return "forbidden";
    case ApiState::Failing:
      return "failing";
  }
  return "failing";
}

ApiState state_for(const net::HttpResult& result) {
  if (!result.responded) return ApiState::Unreachable;
  if (result.status == 401) return ApiState::Unauthorized;
  if (result.status == 403) return ApiState::Forbidden;
  return ApiState::Failing;
}

void KubeStatus::count_request(std::string_view kind, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(kind), status == 0 ? std::string("error") : std::to_string(status)}];
}

std::map<std::pair<std::string, std::string>, uint64_t> KubeStatus::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

uint64_t KubeStatus::requests_of(std::string_view kind) const {
  std::lock_guard lock(mutex_);
  uint64_t n = 0;
  for (const auto& [key, count] : requests_) n += key.first == kind ? count : 0;
  return n;
}

void KubeStatus::set_state(std::string_view resource, ApiState state, std::string_view why) {
  {
    std::lock_guard lock(mutex_);
    auto it = states_.find(resource);
    if (it == states_.end()) it = states_.emplace(std::string(resource), ApiState::Starting).first;
    if (it->second == state) return;
    it->second = state;
  }
  if (state == ApiState::Synced) {
    log::info("kubernetes API: metadata in sync", "resource", resource);
  } else {
    log::warn("kubernetes API: metadata not in sync; events keep their path metadata", "resource",
              resource, "state", api_state_name(state), "why", why);
  }
}

ApiState KubeStatus::state() const {
  std::lock_guard lock(mutex_);
  ApiState worst = ApiState::Starting;
  bool any = false;
  for (const auto& [resource, state] : states_) {
    if (!any || rank(state) > rank(worst)) worst = state;
    any = true;
  }
  return worst;
}

// ---- ResourceWatch ----

ResourceWatch::ResourceWatch(std::string resource, net::HttpClient& http, TokenSource& token,
                             KubeStatus& status, KubeTime time, WatchOptions options,
                             WatchTarget& target)
    : resource_(std::move(resource)),
      http_(http),
      token_(token),
      status_(status),
      time_(std::move(time)),
      options_(std::move(options)),
      target_(target),
      backoff_(
          options_.backoff_seed == 0
              ? Backoff(options_.backoff_min_ns, options_.backoff_max_ns)
              : Backoff(options_.backoff_min_ns, options_.backoff_max_ns, options_.backoff_seed)) {
  status_.set_state(resource_, ApiState::Starting, "");
}

ResourceWatch::~ResourceWatch() {
  request_stop();
  join();
}

void ResourceWatch::start() {
  thread_ = std::thread([this] { run(); });
}

void ResourceWatch::request_stop() {
  std::shared_ptr<net::HttpStream> stream;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    stream = stream_;
  }
  wake_.notify_all();
  if (stream) stream->cancel();
}

void ResourceWatch::join() {
  if (thread_.joinable()) thread_.join();
}

bool ResourceWatch::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

std::string ResourceWatch::resource_version() const {
  std::lock_guard lock(mutex_);
  return resource_version_;
}

void ResourceWatch::set_resource_version(std::string rv) {
  std::lock_guard lock(mutex_);
  resource_version_ = std::move(rv);
}

void ResourceWatch::wait(int64_t ns) {
  if (time_.sleep_ns) {
    time_.sleep_ns(ns);
    return;
  }
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, std::chrono::nanoseconds(ns), [this] { return stopping_; });
}

void ResourceWatch::run() {
  while (!stopping()) {
    const Outcome outcome = resource_version().empty() ? list() : watch();
    if (stopping()) break;
    if (outcome == Outcome::Gone) {
      set_resource_version({});
      status_.relists.fetch_add(1, std::memory_order_relaxed);
      // A server that answers 410 to everything must not be asked again at once, forever.
      if (++gone_in_a_row_ > 1) wait(backoff_.next_delay());
    } else if (outcome == Outcome::Failed) {
      wait(backoff_.next_delay());
    }
  }
}

std::string ResourceWatch::query(bool watching) const {
  std::string q;
  const auto add = [&q](std::string_view name, std::string_view value) {
    q += q.empty() ? "?" : "&";
    q.append(name).append("=").append(value);
  };
  if (!options_.field_selector.empty()) add("fieldSelector", url_encode(options_.field_selector));
  if (!options_.label_selector.empty()) add("labelSelector", url_encode(options_.label_selector));
  if (watching) {
    add("watch", "1");
    add("allowWatchBookmarks", "true");
    add("resourceVersion", url_encode(resource_version()));
    add("timeoutSeconds", std::to_string(options_.watch_timeout_s));
  } else {
    add("limit", std::to_string(options_.page_size));
  }
  return q;
}

net::HttpResult ResourceWatch::send_sync(std::string target) {
  net::HttpRequest request;
  request.method = "GET";
  request.target = std::move(target);
  const std::string authorization = token_.authorization();
  if (!authorization.empty()) request.headers = {{"Authorization", authorization}};
  request.headers.emplace_back("Accept", "application/json");
  auto promise = std::make_shared<std::promise<net::HttpResult>>();
  auto future = promise->get_future();
  http_.send(std::move(request),
             [promise](net::HttpResult result) { promise->set_value(std::move(result)); });
  return future.get();
}

ResourceWatch::Outcome ResourceWatch::refused(const net::HttpResult& result) {
  const ApiState state = state_for(result);
  // Projected tokens rotate: a 401 may mean the file has a newer one than we sent.
  if (state == ApiState::Unauthorized) token_.invalidate();
  const std::string why =
      result.responded ? fmt::format("HTTP {}: {}", result.status, result.body.substr(0, 300))
                       : result.error;
  status_.set_state(resource_, state, why);
  return Outcome::Failed;
}

ResourceWatch::Outcome ResourceWatch::list() {
  target_.list_begin();
  std::string continue_token;
  std::string list_version;
  do {
    std::string target = target_.path() + query(false);
    if (!continue_token.empty()) target += "&continue=" + url_encode(continue_token);
    net::HttpResult result = send_sync(std::move(target));
    if (result.cancelled) return Outcome::Ended;
    status_.count_request("list", result.responded ? result.status : 0);
    // The continue token expired between pages: the list starts over.
    if (result.responded && result.status == 410) return Outcome::Gone;
    if (!result.responded || result.status != 200) return refused(result);
    std::string error;
    continue_token.clear();
    std::string page_version;
    if (!read_list_page(result.body, &continue_token, &page_version, &error)) {
      status_.set_state(resource_, ApiState::Failing, "unreadable list: " + error);
      return Outcome::Failed;
    }
    // Every page of a list is at the first page's resourceVersion; the last says it too.
    list_version = std::move(page_version);
  } while (!continue_token.empty());
  target_.list_complete();
  // A page of pods with large annotations grew the parser's buffers to its size: given back
  // rather than held for the watch's life (the watch's events are one pod each).
  parser_ = simdjson::ondemand::parser{};
#ifdef __GLIBC__
  // The pages' bodies (a few MiB each with 200 KiB annotations) were freed, but malloc keeps
  // such memory for reuse; the cache itself is small. Giving it back keeps the resident memory
  // near what the metadata needs (measured: +10.7 MiB without, see README).
  ::malloc_trim(0);
#endif
  if (list_version.empty()) {
    status_.set_state(resource_, ApiState::Failing, "the list has no resourceVersion");
    return Outcome::Failed;
  }
  set_resource_version(std::move(list_version));
  synced_.store(true);
  status_.set_state(resource_, ApiState::Synced, "");
  return Outcome::Ended;
}

bool ResourceWatch::read_list_page(std::string& body, std::string* continue_token,
                                   std::string* resource_version, std::string* error) {
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  simdjson::padded_string_view view(body.data(), body.size(), body.capacity());
  od::document doc;
  od::object root;
  if (parser_.iterate(view).get(doc) || doc.get_object().get(root)) {
    *error = "not a JSON object";
    return false;
  }
  for (auto result : root) {
    od::field field;
    std::string_view key;
    if (std::move(result).get(field) || field.unescaped_key().get(key)) {
      *error = "not valid JSON";
      return false;
    }
    if (key == "metadata") {
      od::object metadata;
      if (field.value().get_object().get(metadata)) {
        *error = "metadata is not an object";
        return false;
      }
      for (auto meta_result : metadata) {
        od::field meta;
        std::string_view meta_key;
        std::string_view text;
        if (std::move(meta_result).get(meta) || meta.unescaped_key().get(meta_key)) {
          *error = "not valid JSON";
          return false;
        }
        if (meta_key != "resourceVersion" && meta_key != "continue") continue;
        if (meta.value().get_string().get(text)) {
          *error = std::string(meta_key) + " is not a string";
          return false;
        }
        (meta_key == "continue" ? *continue_token : *resource_version) = std::string(text);
      }
    } else if (key == "items") {
      od::array items;
      if (field.value().get_array().get(items)) {
        *error = "items is not an array";
        return false;
      }
      for (auto element : items) {
        od::object object;
        ObjectHead head;
        if (element.get_object().get(object)) {
          *error = "an item is not an object";
          return false;
        }
        if (!target_.read(object, &head, error)) return false;
        target_.add_listed();
      }
    }
  }
  return true;
}

ResourceWatch::Outcome ResourceWatch::watch() {
  net::HttpStreamRequest request;
  request.target = target_.path() + query(true);
  const std::string authorization = token_.authorization();
  if (!authorization.empty()) request.headers = {{"Authorization", authorization}};
  request.headers.emplace_back("Accept", "application/json");
  request.idle_timeout_ns = static_cast<int64_t>(options_.watch_timeout_s) * 1'000'000'000 +
                            watch_idle_margin_ns(options_.watch_timeout_s);
  request.max_line_bytes = options_.max_line_bytes;
  // The callbacks run on the HttpClient's thread while this one waits for `done`.
  Outcome outcome = Outcome::Ended;
  uint64_t lines = 0;
  request.on_head = [this](int status) {
    if (status != 200) return;
    status_.set_state(resource_, ApiState::Synced, "");
    backoff_.reset();
  };
  request.on_data = [this, &outcome, &lines](std::string_view line) {
    ++lines;
    return on_event(line, &outcome);
  };
  auto promise = std::make_shared<std::promise<net::HttpResult>>();
  auto future = promise->get_future();
  const int64_t started = time_.now_ns();
  auto stream = http_.stream(std::move(request), [promise](net::HttpResult result) {
    promise->set_value(std::move(result));
  });
  {
    std::lock_guard lock(mutex_);
    stream_ = stream;
    if (stopping_) stream->cancel();
  }
  net::HttpResult result = future.get();
  {
    std::lock_guard lock(mutex_);
    stream_.reset();
  }
  // A watch that ran and then dropped counts with the status it was answered with.
  status_.count_request("watch", result.status);
  if (outcome != Outcome::Ended) return outcome;  // an ERROR event ended it
  if (result.cancelled) return Outcome::Ended;    // stopping
  if (result.responded && result.status == 200) {
    if (lines == 0 && time_.now_ns() - started < kShortestCleanWatchNs) return Outcome::Failed;
    return Outcome::Ended;  // timeoutSeconds passed: resume from the last resourceVersion
  }
  if (result.responded && result.status == 410) return Outcome::Gone;
  if (!result.responded && result.status == 200) {
    // Dropped, or silent past the idle timeout, after it had started: resume from where it was.
    log::debug("kubernetes API: watch ended; resuming", "resource", resource_, "error",
               result.error);
    return Outcome::Failed;
  }
  return refused(result);
}

bool ResourceWatch::on_event(std::string_view line, Outcome* outcome) {
  std::string type;
  ObjectHead head;
  std::string error;
  if (!read_watch_event(parser_, line_, line, target_, &type, &head, &error)) {
    // One bad event would otherwise be lost silently: relisting brings the truth back.
    log::warn("kubernetes API: unreadable watch event; relisting", "resource", resource_, "error",
              error);
    *outcome = Outcome::Gone;
    return false;
  }
  status_.events.fetch_add(1, std::memory_order_relaxed);
  if (type == "ERROR") {
    if (head.code == 410) {
      *outcome = Outcome::Gone;
    } else {
      status_.set_state(resource_, ApiState::Failing,
                        fmt::format("watch error {}: {}", head.code, head.message));
      *outcome = Outcome::Failed;
    }
    return false;
  }
  if (type == "ADDED" || type == "MODIFIED" || type == "DELETED") {
    target_.apply(type);
    gone_in_a_row_ = 0;
  } else if (type != "BOOKMARK") {
    return true;  // a type this client does not know: its resourceVersion is not trusted
  }
  if (!head.resource_version.empty()) set_resource_version(std::move(head.resource_version));
  return true;
}

}  // namespace sluice::kube
