#include "core/tap.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "base/json_writer.hpp"
#include "core/encoder.hpp"

namespace sluice {

TapRateLimit::TapRateLimit(uint32_t per_second, int64_t now_ns)
    : per_second_(per_second), tokens_(per_second), last_ns_(now_ns) {}

uint32_t TapRateLimit::take(uint32_t wanted, int64_t now_ns) {
  if (now_ns > last_ns_) {
    const double refill = static_cast<double>(now_ns - last_ns_) * per_second_ / 1e9;
    tokens_ = std::min(per_second_, tokens_ + refill);
    last_ns_ = now_ns;
  }
  const auto allowed = static_cast<uint32_t>(std::min<double>(wanted, std::floor(tokens_)));
  tokens_ -= allowed;
  return allowed;
}

TapStream::TapStream(std::vector<std::string> components, const TapRequest& request, int64_t now_ns,
                     size_t buffer_bytes)
    : components_(std::move(components)),
      rate_(request.rate),
      encoding_{request.text ? EncodingSpec::Kind::Text : EncodingSpec::Kind::Json,
                request.text && request.color, false},
      buffer_bytes_(buffer_bytes),
      // Room for a full buffer plus the event that finds it full, so the workers do not grow it.
      pending_(buffer_bytes + 4096),
      limit_(request.rate, now_ns) {}

bool TapStream::wants(std::string_view component) const {
  return std::find(components_.begin(), components_.end(), component) != components_.end();
}

void TapStream::offer(std::string_view component, const Batch& batch, std::span<const Event> events,
                      const SourceMeta& meta, int64_t now_ns) {
  if (events.empty()) return;
  std::lock_guard lock(mutex_);
  const size_t count = events.size();
  const auto wanted = static_cast<uint32_t>(std::min<size_t>(count, kMaxTapSamplePerBatch));
  const uint32_t allowed = limit_.take(wanted, now_ns);
  skipped_.rate_limit += count - allowed;
  skipped_total_.rate_limit += count - allowed;
  for (uint32_t i = 0; i < allowed; ++i) {
    // Spread over the batch rather than its first events: a sample of the whole stream.
    const Event& event = events[i * count / allowed];
    const size_t before = pending_.size();
    if (before < buffer_bytes_) encode(component, batch, event, meta);
    if (pending_.size() > buffer_bytes_) {
      // The client has not taken what is there: skip, never wait.
      pending_.resize(before);
      skipped_.slow_reader += allowed - i;
      skipped_total_.slow_reader += allowed - i;
      return;
    }
  }
}

void TapStream::encode(std::string_view component, const Batch& batch, const Event& event,
                       const SourceMeta& meta) {
  pending_.append(R"({"component":)");
  append_json_string(pending_, component);
  if (encoding_.kind == EncodingSpec::Kind::Json) {
    pending_.append(R"(,"event":)");
    encode_event(batch, event, meta, encoding_, pending_);
    pending_.resize(pending_.size() - 1);  // its '\n'
  } else {
    scratch_.clear();
    encode_event(batch, event, meta, encoding_, scratch_);
    std::string_view text = scratch_.view();
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    pending_.append(R"(,"text":)");
    append_json_string(pending_, text);
  }
  pending_.append("}\n");
}

void TapStream::drain(ByteBuffer& out, int64_t now_ns) {
  std::lock_guard lock(mutex_);
  if (out.empty()) {
    std::swap(out, pending_);
  } else {
    out.append(pending_.view());
  }
  pending_.clear();
  const uint64_t skipped = skipped_.rate_limit + skipped_.slow_reader;
  if (skipped == 0) return;
  if (last_notice_ns_ != 0 && now_ns - last_notice_ns_ < kTapNoticeIntervalNs) return;
  out.append(R"({"notice":"skipped","events":)" + std::to_string(skipped) + R"(,"rate_limit":)" +
             std::to_string(skipped_.rate_limit) + R"(,"slow_reader":)" +
             std::to_string(skipped_.slow_reader) + "}\n");
  skipped_ = {};
  last_notice_ns_ = now_ns;
}

std::string TapStream::opening_line() const {
  ByteBuffer line;
  line.append(R"({"notice":"tapping","components":[)");
  for (size_t i = 0; i < components_.size(); ++i) {
    if (i != 0) line.push_back(',');
    append_json_string(line, components_[i]);
  }
  line.append(R"(],"rate":)" + std::to_string(rate_) + "}\n");
  return std::string(line.view());
}

TapSkipped TapStream::skipped_total() const {
  std::lock_guard lock(mutex_);
  return skipped_total_;
}

TapSubscription::~TapSubscription() { registry_.close(stream_.get()); }

namespace {

TapOpened refusal(int status, std::string body) {
  TapOpened refused;
  refused.status = status;
  refused.body = std::move(body);
  return refused;
}

std::string unknown_components_body(const std::vector<std::string>& unknown,
                                    const std::vector<TapComponent>& known) {
  ByteBuffer body;
  body.append(R"({"error":"unknown component","unknown":[)");
  for (size_t i = 0; i < unknown.size(); ++i) {
    if (i != 0) body.push_back(',');
    append_json_string(body, unknown[i]);
  }
  body.append(R"(],"components":[)");
  for (size_t i = 0; i < known.size(); ++i) {
    if (i != 0) body.push_back(',');
    body.append(R"({"name":)");
    append_json_string(body, known[i].name);
    body.append(R"(,"kind":")");
    body.append(known[i].kind);
    body.append("\"}");
  }
  body.append("]}\n");
  return std::string(body.view());
}

}  // namespace

TapOpened TapRegistry::open(const TapRequest& request, const std::vector<TapComponent>& known,
                            int64_t now_ns) {
  if (request.rate == 0 || request.rate > kMaxTapRate) {
    return refusal(400, R"({"error":"rate must be 1 to )" + std::to_string(kMaxTapRate) +
                            " events per second\"}\n");
  }
  std::vector<std::string> names;
  std::vector<std::string> unknown;
  if (request.components.empty()) {
    for (const TapComponent& c : known) names.push_back(c.name);
  }
  for (const std::string& name : request.components) {
    const bool exists = std::any_of(known.begin(), known.end(),
                                    [&](const TapComponent& c) { return c.name == name; });
    std::vector<std::string>& list = exists ? names : unknown;
    if (std::find(list.begin(), list.end(), name) == list.end()) list.push_back(name);
  }
  if (!unknown.empty()) return refusal(404, unknown_components_body(unknown, known));

  std::lock_guard lock(mutex_);
  if (streams_.size() >= max_streams_) {
    return refusal(503, R"({"error":"too many tap streams: at most )" +
                            std::to_string(max_streams_) +
                            R"( at a time; stop one and try again","limit":)" +
                            std::to_string(max_streams_) + "}\n");
  }
  auto stream = std::make_shared<TapStream>(std::move(names), request, now_ns);
  streams_.push_back(stream);
  open_.store(streams_.size(), std::memory_order_relaxed);
  TapOpened opened;
  opened.subscription = std::make_unique<TapSubscription>(*this, std::move(stream));
  return opened;
}

void TapRegistry::offer(std::string_view component, const Batch& batch,
                        std::span<const Event> events, const SourceMeta& meta, int64_t now_ns) {
  std::lock_guard lock(mutex_);
  for (const auto& stream : streams_) {
    if (stream->wants(component)) stream->offer(component, batch, events, meta, now_ns);
  }
}

void TapRegistry::close(const TapStream* stream) {
  std::lock_guard lock(mutex_);
  std::erase_if(streams_, [stream](const auto& s) { return s.get() == stream; });
  open_.store(streams_.size(), std::memory_order_relaxed);
}

}  // namespace sluice
