// The Kubernetes API client against the scripted HTTP server playing the API server: list +
// watch, bookmarks and resume, 410 relists, token rotation, failures and backoff, one GET. Time
// is a fake clock: backoff waits are recorded, not slept.
#include "sources/container/kube_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pod_json.hpp"
#include "support/http_server.hpp"
#include "support/temp_dir.hpp"

namespace sluice::kube {
namespace {

using sluice::testing::ChunkFeed;
using sluice::testing::eventually;
using sluice::testing::Received;
using sluice::testing::Reply;
using sluice::testing::ScriptedHttpServer;
using test::PodSpec;

PodSpec pod(const std::string& name, const std::string& uid, const std::string& rv = "90") {
  PodSpec spec;
  spec.name = name;
  spec.uid = uid;
  spec.resource_version = rv;
  return spec;
}

// The clock of the client: backoff waits move it on instead of sleeping.
class FakeTime {
 public:
  KubeTime kube() {
    return KubeTime{.now_ns = [this] { return now_.load(); },
                    .sleep_ns =
                        [this](int64_t ns) {
                          std::lock_guard lock(mutex_);
                          sleeps_.push_back(ns);
                          now_ += ns;
                        }};
  }
  void advance(int64_t ns) { now_ += ns; }
  std::vector<int64_t> sleeps() {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  std::atomic<int64_t> now_{1'000'000'000'000};
  std::mutex mutex_;
  std::vector<int64_t> sleeps_;
};

enum class Verb { List, Watch, Get };

Verb verb_of(const Received& r) {
  if (r.target.find("watch=1") != std::string::npos) return Verb::Watch;
  if (r.target.find("/pods/") != std::string::npos) return Verb::Get;
  return Verb::List;
}

// The API server's side: lists and GETs answered by the test's functions, each watch by the
// next feed the test provides (or a new one, which it can fetch with watch_feed()).
class FakeApi {
 public:
  std::function<Reply(const Received&)> on_list = [](const Received&) {
    return Reply{.body = test::pod_list({pod("web-1", "u1"), pod("web-2", "u2")}, "100")};
  };
  std::function<Reply(const Received&)> on_get = [](const Received&) {
    return Reply{.status = 404, .body = R"({"kind":"Status","code":404})"};
  };
  // When set, answers a watch instead of a feed (an HTTP 410, a 401).
  std::function<std::optional<Reply>(const Received&)> on_watch;

  Reply handle(const Received& r) {
    switch (verb_of(r)) {
      case Verb::List:
        return on_list(r);
      case Verb::Get:
        return on_get(r);
      case Verb::Watch:
        break;
    }
    if (on_watch) {
      if (auto reply = on_watch(r)) return *reply;
    }
    auto feed = std::make_shared<ChunkFeed>();
    std::lock_guard lock(mutex_);
    feeds_.push_back(feed);
    return Reply{.feed = feed};
  }

  // The feed of the n-th watch (0-based), once it has been asked for.
  std::shared_ptr<ChunkFeed> watch_feed(size_t n) {
    std::shared_ptr<ChunkFeed> feed;
    eventually([&] {
      std::lock_guard lock(mutex_);
      if (feeds_.size() > n) feed = feeds_[n];
      return feed != nullptr;
    });
    if (feed) {
      EXPECT_TRUE(feed->wait_attached());
    }
    return feed;
  }

 private:
  std::mutex mutex_;
  std::vector<std::shared_ptr<ChunkFeed>> feeds_;
};

std::vector<Received> of_verb(const ScriptedHttpServer& server, Verb verb) {
  std::vector<Received> out;
  for (const Received& r : server.requests()) {
    if (verb_of(r) == verb) out.push_back(r);
  }
  return out;
}

void write_token(const std::string& path, const std::string& token) {
  std::ofstream(path, std::ios::trunc) << token << "\n";
}

struct Harness {
  explicit Harness(KubeClientOptions extra = {})
      : dir("sluice-kube"),
        server({.handler = [this](const Received& r) { return api.handle(r); }}) {
    write_token(dir.at("token"), "t0");
    KubeClientOptions options = std::move(extra);
    options.api_url = server.url();
    options.token_file = dir.at("token");
    options.node_name = "node-1";
    options.time = time.kube();
    options.watch.backoff_seed = 42;
    std::string error;
    client = KubeClient::create(std::move(options), &error);
    EXPECT_NE(client, nullptr) << error;
  }
  ~Harness() {
    if (client) client->stop();
  }

  bool has_pod(const std::string& uid) { return client->pods().find_uid(uid) != nullptr; }

  FakeApi api;
  FakeTime time;
  sluice::testing::TempDir dir;
  ScriptedHttpServer server;
  std::unique_ptr<KubeClient> client;
};

TEST(KubeClient, ListsInPagesThenWatchAppliesChanges) {
  KubeClientOptions options;
  options.field_selector = "metadata.namespace!=kube-system";
  options.label_selector = "app in (web,db)";
  options.watch.page_size = 1;
  Harness h(options);
  h.api.on_list = [](const Received& r) {
    if (r.target.find("continue=") == std::string::npos) {
      return Reply{.body = test::pod_list({pod("web-1", "u1")}, "100", "next/1")};
    }
    return Reply{.body = test::pod_list({pod("web-2", "u2")}, "100")};
  };
  h.client->start();
  auto feed = h.api.watch_feed(0);
  ASSERT_NE(feed, nullptr);
  EXPECT_TRUE(h.client->synced());
  EXPECT_EQ(h.client->pods().size(), 2U);
  EXPECT_FALSE(h.client->status().degraded());

  PodSpec changed = pod("web-1", "u1", "102");
  changed.labels = {{"app", "web"}, {"version", "2"}};
  feed->send(test::event("ADDED", pod("web-3", "u3", "101")));
  feed->send(test::event("MODIFIED", changed));
  feed->send(test::event("DELETED", pod("web-2", "u2", "103")));
  ASSERT_TRUE(eventually([&] { return !h.has_pod("u2"); }));
  ASSERT_TRUE(h.has_pod("u3"));
  EXPECT_EQ(h.client->pods().find_uid("u1")->labels,
            (StringPairs{{"app", "web"}, {"version", "2"}}));

  const auto lists = of_verb(h.server, Verb::List);
  ASSERT_EQ(lists.size(), 2U);
  EXPECT_EQ(lists[0].target,
            "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1%2Cmetadata.namespace%21%3Dkube-"
            "system&labelSelector=app%20in%20%28web%2Cdb%29&limit=1");
  EXPECT_EQ(lists[1].target, lists[0].target + "&continue=next%2F1");
  EXPECT_EQ(lists[0].header("authorization"), "Bearer t0");
  const auto watches = of_verb(h.server, Verb::Watch);
  ASSERT_EQ(watches.size(), 1U);
  EXPECT_EQ(watches[0].target,
            "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1%2Cmetadata.namespace%21%3Dkube-"
            "system&labelSelector=app%20in%20%28web%2Cdb%29&watch=1&allowWatchBookmarks=true&"
            "resourceVersion=100&timeoutSeconds=120");
  EXPECT_EQ(h.client->status().requests_of("list"), 2U);
  EXPECT_TRUE(h.time.sleeps().empty());
}

TEST(KubeClient, BookmarkThenDropResumesFromItsVersionWithoutRelisting) {
  Harness h;
  h.client->start();
  auto first = h.api.watch_feed(0);
  ASSERT_NE(first, nullptr);
  first->send(test::event("ADDED", pod("web-3", "u3", "120")));
  first->send(test::bookmark("150"));
  ASSERT_TRUE(first->wait_written());
  ASSERT_TRUE(eventually([&] { return h.has_pod("u3"); }));
  first->drop();
  auto second = h.api.watch_feed(1);
  ASSERT_NE(second, nullptr);
  const auto watches = of_verb(h.server, Verb::Watch);
  ASSERT_EQ(watches.size(), 2U);
  EXPECT_NE(watches[1].target.find("&resourceVersion=150&"), std::string::npos)
      << watches[1].target;
  EXPECT_EQ(of_verb(h.server, Verb::List).size(), 1U);
  EXPECT_EQ(h.client->pods().size(), 3U);
  // The dropped watch waited one short backoff step before resuming.
  ASSERT_EQ(h.time.sleeps().size(), 1U);
  EXPECT_LE(h.time.sleeps()[0], 500'000'000);
}

TEST(KubeClient, ErrorEvent410Relists) {
  Harness h;
  h.client->start();
  auto first = h.api.watch_feed(0);
  ASSERT_NE(first, nullptr);
  h.api.on_list = [](const Received&) {
    // web-2 went while the watch was behind: the relist removes it.
    return Reply{.body = test::pod_list({pod("web-1", "u1"), pod("web-9", "u9")}, "500")};
  };
  first->send(
      R"js({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 100 (400)","reason":"Expired","code":410}})js"
      "\n");
  auto second = h.api.watch_feed(1);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(of_verb(h.server, Verb::List).size(), 2U);
  EXPECT_NE(of_verb(h.server, Verb::Watch)[1].target.find("&resourceVersion=500&"),
            std::string::npos);
  EXPECT_TRUE(h.has_pod("u9"));
  EXPECT_FALSE(h.has_pod("u2"));
  EXPECT_EQ(h.client->status().relists.load(), 1U);
  EXPECT_TRUE(h.time.sleeps().empty());  // a relist does not wait
}

TEST(KubeClient, Http410OnTheWatchRelistsToo) {
  Harness h;
  std::atomic<int> watches{0};
  h.api.on_watch = [&](const Received&) -> std::optional<Reply> {
    if (watches++ == 0) return Reply{.status = 410, .body = R"({"kind":"Status","code":410})"};
    return std::nullopt;
  };
  h.client->start();
  ASSERT_NE(h.api.watch_feed(0), nullptr);  // the second watch request: the first was a 410
  EXPECT_EQ(of_verb(h.server, Verb::List).size(), 2U);
  EXPECT_EQ(h.client->status().requests().at({"watch", "410"}), 1U);
}

TEST(KubeClient, UnauthorizedRereadsTheRotatedTokenAndRetries) {
  Harness h;
  h.api.on_list = [&](const Received& r) {
    if (r.header("authorization") != "Bearer t1") {
      // The kubelet rotated the projected token: the file now holds the new one.
      write_token(h.dir.at("token"), "t1");
      return Reply{.status = 401,
                   .body = R"({"kind":"Status","code":401,"reason":"Unauthorized"})"};
    }
    return Reply{.body = test::pod_list({pod("web-1", "u1")}, "100")};
  };
  h.client->start();
  auto feed = h.api.watch_feed(0);
  ASSERT_NE(feed, nullptr);
  const auto lists = of_verb(h.server, Verb::List);
  ASSERT_EQ(lists.size(), 2U);
  EXPECT_EQ(lists[0].header("authorization"), "Bearer t0");
  EXPECT_EQ(lists[1].header("authorization"), "Bearer t1");
  EXPECT_EQ(of_verb(h.server, Verb::Watch)[0].header("authorization"), "Bearer t1");
  EXPECT_EQ(h.client->token_reads(), 2U);
  EXPECT_EQ(h.client->status().state(), ApiState::Synced);
  EXPECT_EQ(h.client->status().requests().at({"list", "401"}), 1U);
  EXPECT_EQ(h.time.sleeps().size(), 1U);
}

TEST(KubeClient, TokenIsRereadEveryMinute) {
  Harness h;
  h.client->start();
  auto first = h.api.watch_feed(0);
  ASSERT_NE(first, nullptr);
  write_token(h.dir.at("token"), "t2");
  // Within the minute the token in memory is used: no read per request.
  first->send(test::bookmark("110"));
  first->end();
  auto second = h.api.watch_feed(1);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(of_verb(h.server, Verb::Watch)[1].header("authorization"), "Bearer t0");
  h.time.advance(61'000'000'000);
  second->send(test::bookmark("111"));
  second->end();
  auto third = h.api.watch_feed(2);
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(of_verb(h.server, Verb::Watch)[2].header("authorization"), "Bearer t2");
  EXPECT_EQ(h.client->token_reads(), 2U);
  EXPECT_TRUE(h.time.sleeps().empty());  // a watch that ended after its events resumes at once
}

TEST(KubeClient, SilentWatchIsDroppedPastItsTimeoutPlusMarginAndResumed) {
  // A half-open connection: the server neither sends nor ends the watch it was asked to end
  // after timeoutSeconds. Past that and the margin, the watch is taken for dead and resumed.
  KubeClientOptions options;
  options.watch.watch_timeout_s = 2;
  Harness h(options);
  h.client->start();
  auto silent = h.api.watch_feed(0);
  ASSERT_NE(silent, nullptr);
  const auto attached = std::chrono::steady_clock::now();
  EXPECT_NE(of_verb(h.server, Verb::Watch)[0].target.find("&timeoutSeconds=2"), std::string::npos);
  const int64_t idle_ns = 2'000'000'000 + watch_idle_margin_ns(2);
  EXPECT_EQ(idle_ns, 4'000'000'000);
  ASSERT_TRUE(eventually([&] { return of_verb(h.server, Verb::Watch).size() >= 2; },
                         std::chrono::milliseconds(idle_ns / 1'000'000 + 5000)));
  // Not before the server's own timeout and the margin had passed.
  EXPECT_GE(std::chrono::steady_clock::now() - attached, std::chrono::nanoseconds(idle_ns));
  const auto watches = of_verb(h.server, Verb::Watch);
  EXPECT_EQ(watches[1].target, watches[0].target);  // from the same resourceVersion: no relist
  EXPECT_EQ(of_verb(h.server, Verb::List).size(), 1U);
  EXPECT_EQ(h.time.sleeps().size(), 1U);  // one backoff wait before the new watch
}

TEST(KubeClient, WatchIdleMarginIsATenthFrom2To30Seconds) {
  EXPECT_EQ(watch_idle_margin_ns(2), 2'000'000'000);
  EXPECT_EQ(watch_idle_margin_ns(120), 12'000'000'000);
  EXPECT_EQ(watch_idle_margin_ns(3600), 30'000'000'000);
}

TEST(KubeClient, ServerDownBacksOffThenRecovers) {
  Harness h;
  std::atomic<int> lists{0};
  h.api.on_list = [&](const Received&) {
    if (lists++ < 3) return Reply{.drop = true};
    return Reply{.body = test::pod_list({pod("web-1", "u1")}, "100")};
  };
  h.client->start();
  ASSERT_NE(h.api.watch_feed(0), nullptr);
  // Three failures, three jittered waits each in [step / 2, step] of a doubling step.
  const auto sleeps = h.time.sleeps();
  ASSERT_EQ(sleeps.size(), 3U);
  int64_t step = 500'000'000;
  for (const int64_t s : sleeps) {
    EXPECT_GE(s, step / 2);
    EXPECT_LE(s, step);
    step *= 2;
  }
  EXPECT_EQ(h.client->status().requests().at({"list", "error"}), 3U);
  EXPECT_EQ(h.client->status().state(), ApiState::Synced);
  EXPECT_TRUE(h.has_pod("u1"));
}

TEST(KubeClient, ForbiddenIsRetriedUntilAllowed) {
  Harness h;
  std::atomic<int> lists{0};
  h.api.on_list = [&](const Received&) {
    if (lists++ < 2) return Reply{.status = 403, .body = R"({"kind":"Status","code":403})"};
    return Reply{.body = test::pod_list({}, "100")};
  };
  h.client->start();
  ASSERT_TRUE(eventually([&] { return lists.load() >= 1; }));
  ASSERT_NE(h.api.watch_feed(0), nullptr);
  EXPECT_EQ(h.client->status().requests().at({"list", "403"}), 2U);
  EXPECT_FALSE(h.client->status().degraded());
}

TEST(KubeClient, DegradedWhileRefused) {
  Harness h;
  std::atomic<bool> allow{false};
  std::atomic<int> lists{0};
  h.api.on_list = [&](const Received&) {
    ++lists;
    if (!allow) return Reply{.status = 403, .body = R"({"kind":"Status","code":403})"};
    return Reply{.body = test::pod_list({}, "100")};
  };
  h.client->start();
  ASSERT_TRUE(eventually([&] { return lists.load() >= 2; }));
  EXPECT_EQ(h.client->status().state(), ApiState::Forbidden);
  EXPECT_TRUE(h.client->status().degraded());
  allow = true;
  ASSERT_NE(h.api.watch_feed(0), nullptr);
  EXPECT_FALSE(h.client->status().degraded());
}

TEST(KubeClient, OneGetForAPodNotYetInTheCache) {
  Harness h;
  h.api.on_get = [](const Received& r) {
    if (r.target == "/api/v1/namespaces/shop/pods/cron-29000000-abcde") {
      return Reply{.body = test::pod_json(pod("cron-29000000-abcde", "u-cron"))};
    }
    return Reply{.status = 404, .body = R"({"kind":"Status","code":404})"};
  };
  h.client->start();
  ASSERT_NE(h.api.watch_feed(0), nullptr);
  std::promise<PodPtr> found;
  h.client->get_pod("shop", "cron-29000000-abcde", [&](const PodPtr& p) { found.set_value(p); });
  auto future = found.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  const PodPtr got = future.get();
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->uid, "u-cron");
  EXPECT_EQ(h.client->pods().find("shop", "cron-29000000-abcde"), got);
  std::promise<PodPtr> missing;
  h.client->get_pod("shop", "gone", [&](const PodPtr& p) { missing.set_value(p); });
  EXPECT_EQ(missing.get_future().get(), nullptr);
  const auto gets = of_verb(h.server, Verb::Get);
  ASSERT_EQ(gets.size(), 2U);
  EXPECT_EQ(gets[0].header("authorization"), "Bearer t0");
  EXPECT_EQ(h.client->status().requests().at({"get", "200"}), 1U);
  EXPECT_EQ(h.client->status().requests().at({"get", "404"}), 1U);
}

TEST(KubeClient, NamespaceLabelsOnlyWhenWanted) {
  {
    Harness h;
    h.client->start();
    ASSERT_NE(h.api.watch_feed(0), nullptr);
    for (const Received& r : h.server.requests()) {
      EXPECT_EQ(r.target.find("/api/v1/namespaces"), std::string::npos) << r.target;
    }
  }
  KubeClientOptions options;
  options.namespace_labels = true;
  Harness h(options);
  h.api.on_list = [](const Received& r) {
    if (r.target.starts_with("/api/v1/namespaces")) {
      return Reply{.body = R"({"kind":"NamespaceList","metadata":{"resourceVersion":"7"},"items":[
        {"metadata":{"name":"shop","labels":{"team":"a","kubernetes.io/metadata.name":"shop"}}}]})"};
    }
    return Reply{.body = test::pod_list({}, "100")};
  };
  h.client->start();
  ASSERT_NE(h.api.watch_feed(1), nullptr);  // both watches are open
  const auto labels = h.client->namespace_labels("shop");
  ASSERT_NE(labels, nullptr);
  EXPECT_EQ(*labels, (StringPairs{{"kubernetes.io/metadata.name", "shop"}, {"team", "a"}}));
  EXPECT_EQ(h.client->namespace_labels("other"), nullptr);
}

TEST(KubeClient, StopEndsAnOpenWatchPromptly) {
  Harness h;
  h.client->start();
  ASSERT_NE(h.api.watch_feed(0), nullptr);
  // The watch has no end of its own: stop() must cancel it rather than wait for it.
  auto stopped = std::async(std::launch::async, [&] { h.client->stop(); });
  EXPECT_EQ(stopped.wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

}  // namespace
}  // namespace sluice::kube
