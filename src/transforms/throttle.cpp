#include "transforms/throttle.hpp"

#include <cmath>

#include "base/clock.hpp"
#include "core/event_view.hpp"
#include "options/components.hpp"
#include "options/descriptor.hpp"

namespace sluice {

namespace {

// The keys of one batch, rendered back to back: event i's key ends at ends[i]. A per-thread
// buffer, reused from batch to batch (a worker applies one transform at a time).
struct RenderedKeys {
  static constexpr uint32_t kExcluded = UINT32_MAX;
  ByteBuffer text;
  std::vector<uint32_t> ends;
};

}  // namespace

ThrottleTransform::ThrottleTransform(ThrottleOptions options)
    : options_(std::move(options)), buckets_(options_.limits) {
  if (!options_.clock) options_.clock = [] { return monotonic_ns(); };
}

void ThrottleTransform::apply(Batch& batch, const SourceMeta& meta, std::span<const Event> in,
                              std::vector<Event>& out) const {
  thread_local RenderedKeys keys;
  keys.text.clear();
  keys.ends.clear();
  const Template::RenderOptions render{Template::RenderMode::Raw, ""};
  for (const Event& event : in) {
    EventView view(batch, event, meta);
    if (options_.exclude && options_.exclude->matches(view)) {
      keys.ends.push_back(RenderedKeys::kExcluded);
      continue;
    }
    const size_t start = keys.text.size();
    if (options_.key) {
      options_.key->render(view, event.timestamp_ns, render, keys.text);
      if (keys.text.size() - start > kMaxKeyBytes) keys.text.resize(start + kMaxKeyBytes);
    }
    keys.ends.push_back(static_cast<uint32_t>(keys.text.size()));
  }

  std::lock_guard lock(mutex_);
  const int64_t now = options_.clock();
  buckets_.forget_idle(now);
  uint32_t start = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const uint32_t end = keys.ends[i];
    if (end == RenderedKeys::kExcluded) {
      out.push_back(in[i]);
      continue;
    }
    const std::string_view key(keys.text.data() + start, end - start);
    start = end;
    switch (buckets_.take(key, now)) {
      case TokenBuckets::Verdict::Pass:
        out.push_back(in[i]);
        break;
      case TokenBuckets::Verdict::FirstDrop:
        log_first_drop(key);
        break;
      case TokenBuckets::Verdict::Drop:
        break;
    }
  }
}

void ThrottleTransform::log_first_drop(std::string_view key) const {
  uint64_t suppressed = 0;
  if (!first_drop_log_.allow(&suppressed)) return;
  log::warn("throttle: a key went over its rate, its events are dropped", "component",
            options_.name, "key", key, "events_per_second", options_.limits.events_per_second,
            "burst", options_.limits.burst, "suppressed", suppressed);
}

void ThrottleTransform::read_counters(TransformCounters& counters) const {
  std::lock_guard lock(mutex_);
  // The keys gauge counts only the buckets still needed, also when no batch came for a while.
  buckets_.forget_idle(options_.clock());
  counters.dropped.emplace_back("throttled", buckets_.dropped());
  if (options_.key) {
    counters.families.push_back(
        {"sluice_throttled_events_total", "counter",
         "Events a throttle transform dropped, per key (at most max_metric_keys keys, the rest "
         "under key=\"_other\").",
         "key", buckets_.dropped_per_key()});
  }
  counters.families.push_back({"sluice_throttle_keys",
                               "gauge",
                               "Keys a throttle transform holds a token bucket for.",
                               "",
                               {{"", buckets_.live_keys()}}});
  counters.families.push_back(
      {"sluice_throttle_evicted_keys_total",
       "counter",
       "Buckets a throttle transform evicted at max_keys (least recently used first).",
       "",
       {{"", buckets_.evicted()}}});
}

size_t ThrottleTransform::live_keys() const {
  std::lock_guard lock(mutex_);
  return buckets_.live_keys();
}

namespace {

std::unique_ptr<Transform> make_throttle_transform(MapReader& config, const std::string& name) {
  ThrottleOptions o;
  o.name = name;
  if (std::optional<std::string> key = config.string("key")) {
    std::string error;
    o.key = Template::parse(*key, &error);
    if (!o.key) config.fail("key", "invalid `key`: " + error);
  }
  if (std::optional<std::string> exclude = config.string("exclude")) {
    std::string error;
    o.exclude = Condition::compile(*exclude, &error);
    if (!o.exclude) config.fail("exclude", "invalid `exclude`: " + error);
  }
  const double rate = config.required_number("events_per_second");
  if (!(rate > 0) || rate > 1e9) {
    config.fail("events_per_second",
                "`events_per_second` must be greater than 0 (and at most "
                "1e9), e.g. 100 or 0.5");
  }
  o.limits.events_per_second = rate;
  const auto default_burst = static_cast<int64_t>(std::max(1.0, std::ceil(rate)));
  o.limits.burst = static_cast<double>(config.integer("burst", default_burst, 1, 1'000'000'000));
  o.limits.max_keys = static_cast<size_t>(config.integer("max_keys", 10'000, 1, 10'000'000));
  o.limits.max_metric_keys = static_cast<size_t>(config.integer("max_metric_keys", 100, 0, 10'000));
  return std::make_unique<ThrottleTransform>(std::move(o));
}

}  // namespace

const ComponentDescriptor& throttle_transform_descriptor() {
  static const ComponentDescriptor descriptor{
      .kind = ComponentKind::Transform,
      .type = "throttle",
      .summary = "drops the events over a rate per key (token buckets), counting them per key",
      .options =
          {
              {.key = "events_per_second",
               .type = OptionType::Number,
               .description = "the rate each key's bucket refills at; fractions allowed (0.5: "
                              "one event every 2 s)",
               .required = true},
              {.key = "burst",
               .type = OptionType::Integer,
               .default_shown = "events_per_second rounded up, at least 1",
               .description = "events a key may send at once (its bucket's size)"},
              {.key = "key",
               .type = OptionType::Template,
               .default_shown = "none (one bucket)",
               .description = "e.g. `{{ kubernetes.namespace }}/{{ kubernetes.pod.name }}`; a "
                              "missing field renders empty, keys are cut at 256 bytes"},
              {.key = "exclude",
               .type = OptionType::String,
               .description = "a `filter` condition: matching events are never throttled (e.g. "
                              "`level >= error`)"},
              {.key = "max_keys",
               .type = OptionType::Integer,
               .default_shown = "10000",
               .description = "buckets held at most; beyond, the least recently used is "
                              "evicted (its key starts again with a full bucket)"},
              {.key = "max_metric_keys",
               .type = OptionType::Integer,
               .default_shown = "100",
               .description = "keys with their own `sluice_throttled_events_total` series (the "
                              "first throttled); the others are summed under `key=\"_other\"`"},
          },
      .make_transform = &make_throttle_transform,
  };
  return descriptor;
}

}  // namespace sluice
