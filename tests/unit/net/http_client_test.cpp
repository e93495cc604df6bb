#include "net/http_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_client_test_util.hpp"

namespace sluice::net {
namespace {

using namespace test;  // NOLINT(google-build-using-namespace): the test tools

// ---- Plain HTTP ----

TEST(HttpClient, PostArrivesIntactAndResponseComesBack) {
  ScriptedHttpServer server({.handler = [](const Received&) {
    return Reply{.status = 201, .body = R"({"took":1,"errors":false})"};
  }});
  HttpClientOptions options;
  options.endpoints = {endpoint(server.url("http", "/es/"))};
  options.headers = {{"Authorization", "ApiKey abc=="}, {"X-Opaque-Id", "sluice-test"}};
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);

  std::string body = "{\"index\":{}}\n{\"msg\":\"a\\u0000\"}\n";
  body.push_back('\0');
  body += "\r\n\r\nbinary\xff\xfe\n";
  HttpRequest request = post(body, "/_bulk?pipeline=p1");
  request.content_encoding = "gzip";
  const HttpResult result = send_sync(*client, request);

  ASSERT_TRUE(result.responded) << result.error;
  EXPECT_FALSE(result.cancelled);
  EXPECT_EQ(result.status, 201);
  EXPECT_EQ(result.body, R"({"took":1,"errors":false})");
  EXPECT_EQ(result.endpoint, 0U);
  EXPECT_GT(result.elapsed_ns, 0);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1U);
  const Received& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/es/_bulk?pipeline=p1");
  EXPECT_EQ(r.headers.at("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(r.headers.at("content-type"), "application/x-ndjson");
  EXPECT_EQ(r.headers.at("content-encoding"), "gzip");
  EXPECT_EQ(r.headers.at("content-length"), std::to_string(body.size()));
  EXPECT_EQ(r.headers.at("authorization"), "ApiKey abc==");
  EXPECT_EQ(r.headers.at("x-opaque-id"), "sluice-test");
  EXPECT_EQ(r.body, body);
  // The configured headers come after the client's own.
  const auto position = [&](const std::string& name) {
    return std::find(r.header_order.begin(), r.header_order.end(), name) - r.header_order.begin();
  };
  EXPECT_LT(position("host"), position("authorization"));
  EXPECT_LT(position("content-length"), position("authorization"));
}

TEST(HttpClient, OtherMethodsAndNoContentType) {
  ScriptedHttpServer server;
  HttpClientOptions options;
  options.endpoints = {endpoint(server.url())};
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  HttpRequest request;
  request.method = "GET";
  request.target = "/";
  const HttpResult result = send_sync(*client, request);
  ASSERT_TRUE(result.responded) << result.error;
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1U);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/");
  EXPECT_EQ(requests[0].headers.count("content-type"), 0U);
  EXPECT_EQ(requests[0].headers.count("content-encoding"), 0U);
}

TEST(HttpClient, KeepAliveReusesOneConnection) {
  ScriptedHttpServer server;
  HttpClientOptions options;
  options.endpoints = {endpoint(server.url())};
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 3; ++i) {
    const HttpResult result = send_sync(*client, post("{}\n"));
    ASSERT_TRUE(result.responded) << result.error;
    EXPECT_EQ(result.status, 200);
  }
  EXPECT_EQ(server.connections(), 1U);
  for (const Received& r : server.requests()) EXPECT_EQ(r.connection, 1U);
}

TEST(HttpClient, ConnectionCloseInResponseIsHonoured) {
  ScriptedHttpServer server({.handler = [](const Received&) { return Reply{.close = true}; }});
  HttpClientOptions options;
  options.endpoints = {endpoint(server.url())};
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(send_sync(*client, post("a\n")).responded);
  ASSERT_TRUE(send_sync(*client, post("b\n")).responded);
  EXPECT_EQ(server.connections(), 2U);
  // Each request went out once: nothing was sent on the closed connection and retried.
  EXPECT_EQ(server.request_count(), 2U);
}

TEST(HttpClient, IdleConnectionClosedByServerIsReplaced) {
  ScriptedHttpServer server({.idle_timeout = 100ms});
  HttpClientOptions options;
  options.endpoints = {endpoint(server.url())};
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(send_sync(*client, post("a\n")).responded);
  ASSERT_TRUE(eventually([&] { return server.closed() == 1; }));
  const HttpResult result = send_sync(*client, post("b\n"));
  ASSERT_TRUE(result.responded) << result.error;
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(server.connections(), 2U);
  EXPECT_EQ(client->healthy_endpoints(), 1U);
}

TEST(HttpClient, ReusedConnectionDroppedBeforeAnswerIsRetriedOnceOnANewOne) {
  std::atomic<int> seen{0};
  ScriptedHttpServer server({.handler = [&](const Received&) {
    // The second request arrives on the kept connection, which the server then closes, as a
    // server does when its idle timeout races the request.
    return Reply{.drop = ++seen == 2};
  }});
  HttpClientOptions options;
  options.endpoints = {endpoint(server.url())};
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(send_sync(*client, post("a\n")).responded);
  const HttpResult result = send_sync(*client, post("b\n"));
  ASSERT_TRUE(result.responded) << result.error;
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(server.connections(), 2U);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3U);
  EXPECT_EQ(requests[1].connection, 1U);
  EXPECT_EQ(requests[2].connection, 2U);
  EXPECT_EQ(requests[2].body, "b\n");
  EXPECT_EQ(client->healthy_endpoints(), 1U);
}

TEST(HttpClient, FreshConnectionDroppedIsAnErrorNotRetried) {
  ScriptedHttpServer server({.handler = [](const Received&) { return Reply{.drop = true}; }});
  HttpClientOptions options;
  options.endpoints = {endpoint(server.url())};
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  const HttpResult result = send_sync(*client, post("a\n"));
  EXPECT_FALSE(result.responded);
  EXPECT_FALSE(result.cancelled);
  EXPECT_NE(result.error.find("reading the response from " + server.url()), std::string::npos)
      << result.error;
  EXPECT_EQ(server.request_count(), 1U);
  EXPECT_EQ(client->healthy_endpoints(), 0U);
}

TEST(HttpClient, ConcurrentRequestsEachUseTheirOwnConnection) {
  constexpr size_t kRequests = 6;
  // No answer until all requests are at the server: they must be in flight together.
  ScriptedHttpServer server(
      {.handler = [](const Received&) { return Reply{.wait_for_requests = kRequests}; }});
  HttpClientOptions options;
  options.endpoints = {endpoint(server.url())};
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  Collector collector;
  std::vector<std::string> bodies;
  for (size_t i = 0; i < kRequests; ++i) bodies.push_back("body " + std::to_string(i) + "\n");
  for (size_t i = 0; i < kRequests; ++i) client->send(post(bodies[i]), collector.callback(i));
  ASSERT_TRUE(collector.wait(kRequests));
  for (const HttpResult& result : collector.results()) {
    EXPECT_TRUE(result.responded) << result.error;
    EXPECT_EQ(result.status, 200);
  }
  EXPECT_EQ(server.connections(), kRequests);
  std::vector<std::string> received;
  for (const Received& r : server.requests()) received.push_back(r.body);
  std::sort(received.begin(), received.end());
  EXPECT_EQ(received, bodies);

  // Afterwards the idle pool keeps max_idle_connections (4) of them for reuse.
  for (size_t i = 0; i < 4; ++i) client->send(post("again\n"), collector.callback(10 + i));
  ASSERT_TRUE(collector.wait(kRequests + 4));
  EXPECT_EQ(server.connections(), kRequests);
}

TEST(HttpClient, TimeoutEndsTheRequestAndPausesTheEndpoint) {
  ScriptedHttpServer server({.handler = [](const Received&) { return Reply{.delay = 3000ms}; }});
  HttpClientOptions options;
  options.endpoints = {endpoint(server.url())};
  options.timeout_ns = 200'000'000;
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  const auto start = Clock::now();
  const HttpResult result = send_sync(*client, post("slow\n"));
  EXPECT_LT(Clock::now() - start, 2500ms);
  EXPECT_FALSE(result.responded);
  EXPECT_FALSE(result.cancelled);
  EXPECT_NE(result.error.find("timed out after 200 ms"), std::string::npos) << result.error;
  EXPECT_GE(result.elapsed_ns, 200'000'000);
  EXPECT_EQ(client->healthy_endpoints(), 0U);
}

TEST(HttpClient, RefusedEndpointIsPausedTheOtherUsedThenRecovers) {
  const uint16_t dead_port = refused_port();
  ScriptedHttpServer good;
  HttpClientOptions options;
  options.endpoints = {endpoint("http://127.0.0.1:" + std::to_string(dead_port)),
                       endpoint(good.url())};
  options.endpoint_pause_min_ns = 300'000'000;
  options.timeout_ns = 2'000'000'000;
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->healthy_endpoints(), 2U);

  const HttpResult first = send_sync(*client, post("1\n"));
  EXPECT_EQ(first.endpoint, 0U);
  EXPECT_FALSE(first.responded);
  EXPECT_NE(first.error.find("connecting to http://127.0.0.1:" + std::to_string(dead_port)),
            std::string::npos)
      << first.error;
  EXPECT_NE(first.error.find("refused"), std::string::npos) << first.error;
  EXPECT_EQ(client->healthy_endpoints(), 1U);

  // While endpoint 0 is paused, every request goes to endpoint 1.
  for (int i = 0; i < 3; ++i) {
    const HttpResult result = send_sync(*client, post("x\n"));
    EXPECT_TRUE(result.responded) << result.error;
    EXPECT_EQ(result.endpoint, 1U);
  }

  // The dead endpoint comes back; after its pause it is used again and counted healthy.
  ScriptedHttpServer revived({.port = dead_port});
  ASSERT_TRUE(eventually([&] { return client->healthy_endpoints() == 2; }));
  std::vector<size_t> used;
  for (int i = 0; i < 2; ++i) {
    const HttpResult result = send_sync(*client, post("y\n"));
    EXPECT_TRUE(result.responded) << result.error;
    used.push_back(result.endpoint);
  }
  std::sort(used.begin(), used.end());
  EXPECT_EQ(used, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(revived.request_count(), 1U);
  EXPECT_EQ(client->healthy_endpoints(), 2U);
}

TEST(HttpClient, PauseDoublesUpToTheMaximumAndAllPausedStillTries) {
  const uint16_t dead_port = refused_port();
  HttpClientOptions options;
  options.endpoints = {endpoint("http://127.0.0.1:" + std::to_string(dead_port))};
  options.endpoint_pause_min_ns = 100'000'000;
  options.endpoint_pause_max_ns = 400'000'000;
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  // Consecutive failures (no success in between): 100, 200, 400, 400 ms. Each request goes out
  // although the only endpoint is paused. Checks are one-sided so that a slow machine cannot
  // fail them: "still paused" only when checked in time, "healthy again" only after the pause.
  const std::chrono::milliseconds pauses[] = {100ms, 200ms, 400ms, 400ms};
  for (const auto pause : pauses) {
    const auto sent_at = Clock::now();
    const HttpResult result = send_sync(*client, post("x\n"));
    const auto failed_at = Clock::now();
    ASSERT_FALSE(result.responded);
    EXPECT_EQ(client->healthy_endpoints(), 0U);
    std::this_thread::sleep_until(sent_at + pause * 3 / 4);
    const size_t healthy = client->healthy_endpoints();
    if (Clock::now() - sent_at < pause - 5ms) {
      EXPECT_EQ(healthy, 0U) << "pause " << pause.count();
    }
    std::this_thread::sleep_until(failed_at + pause + 10ms);
    EXPECT_EQ(client->healthy_endpoints(), 1U) << "pause " << pause.count();
  }
}

TEST(HttpClient, ServiceUnavailablePausesTheEndpoint) {
  ScriptedHttpServer busy(
      {.handler = [](const Received&) { return Reply{.status = 503, .body = "overloaded"}; }});
  ScriptedHttpServer good;
  HttpClientOptions options;
  options.endpoints = {endpoint(busy.url()), endpoint(good.url())};
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  const HttpResult first = send_sync(*client, post("1\n"));
  EXPECT_TRUE(first.responded);
  EXPECT_EQ(first.status, 503);
  EXPECT_EQ(first.body, "overloaded");
  EXPECT_EQ(first.endpoint, 0U);
  EXPECT_EQ(client->healthy_endpoints(), 1U);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(send_sync(*client, post("x\n")).endpoint, 1U);
  EXPECT_EQ(busy.request_count(), 1U);
}

TEST(HttpClient, ClientErrorsDoNotPause) {
  ScriptedHttpServer server({.handler = [](const Received&) { return Reply{.status = 400}; }});
  HttpClientOptions options;
  options.endpoints = {endpoint(server.url())};
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(send_sync(*client, post("x\n")).status, 400);
  EXPECT_EQ(client->healthy_endpoints(), 1U);
}

TEST(HttpClient, StopCancelsEveryRequestInFlightOnce) {
  constexpr size_t kRequests = 5;
  ScriptedHttpServer server({.handler = [](const Received&) { return Reply{.delay = 3000ms}; }});
  HttpClientOptions options;
  options.endpoints = {endpoint(server.url())};
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  Collector collector;
  for (size_t i = 0; i < kRequests; ++i) client->send(post("x\n"), collector.callback(i));
  ASSERT_TRUE(eventually([&] { return server.request_count() == kRequests; }));
  const auto start = Clock::now();
  client->stop();
  EXPECT_LT(Clock::now() - start, 1000ms);
  const auto results = collector.results();
  ASSERT_EQ(results.size(), kRequests);
  for (const HttpResult& result : results) {
    EXPECT_TRUE(result.cancelled);
    EXPECT_FALSE(result.responded);
    EXPECT_FALSE(result.error.empty());
  }
  for (int calls : collector.calls()) EXPECT_EQ(calls, 1);

  // After stop, send() still answers exactly once, as cancelled.
  client->send(post("late\n"), collector.callback(kRequests));
  ASSERT_EQ(collector.results().size(), kRequests + 1);
  EXPECT_TRUE(collector.results().back().cancelled);
  client->stop();  // idempotent
  client.reset();
  for (int calls : collector.calls()) EXPECT_EQ(calls, 1);
}

TEST(HttpClient, StopWhileOtherThreadsSendAnswersEveryRequestOnce) {
  ScriptedHttpServer server;
  HttpClientOptions options;
  options.endpoints = {endpoint(server.url())};
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  constexpr size_t kThreads = 4;
  constexpr size_t kPerThread = 300;
  std::vector<std::atomic<int>> calls(kThreads * kPerThread);
  std::atomic<size_t> cancelled{0};
  std::atomic<size_t> sent{0};
  std::vector<std::thread> senders;
  for (size_t t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (size_t i = 0; i < kPerThread; ++i) {
        const size_t index = t * kPerThread + i;
        client->send(post("x\n"), [&, index](const HttpResult& result) {
          ++calls[index];
          if (result.cancelled) ++cancelled;
        });
        ++sent;
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return sent.load() >= kThreads * kPerThread / 4; }));
  client->stop();
  for (auto& sender : senders) sender.join();
  for (size_t i = 0; i < calls.size(); ++i) ASSERT_EQ(calls[i].load(), 1) << "request " << i;
  EXPECT_GT(cancelled.load(), 0U);
}

TEST(HttpClient, StopFromADoneCallbackDoesNotDeadlock) {
  ScriptedHttpServer server;
  HttpClientOptions options;
  options.endpoints = {endpoint(server.url())};
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  std::promise<void> called;
  client->send(post("x\n"), [&](const HttpResult&) {
    client->stop();
    called.set_value();
  });
  ASSERT_EQ(called.get_future().wait_for(5s), std::future_status::ready);
  client.reset();  // joins
}

TEST(HttpClient, LocalhostNameIsResolved) {
  ScriptedHttpServer server;
  HttpClientOptions options;
  options.endpoints = {endpoint("http://localhost:" + std::to_string(server.port()))};
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  const HttpResult result = send_sync(*client, post("x\n"));
  ASSERT_TRUE(result.responded) << result.error;
  EXPECT_EQ(server.requests().at(0).headers.at("host"),
            "localhost:" + std::to_string(server.port()));
}

TEST(HttpClient, CreateRefusesNoEndpoint) {
  std::string error;
  EXPECT_EQ(HttpClient::create(HttpClientOptions{}, &error), nullptr);
  EXPECT_FALSE(error.empty());
}

// One core's worth: the client thread alone moves the bytes; the server discards them.
TEST(HttpClient, ThroughputToALoopbackServer) {
  ScriptedHttpServer server({.keep_bodies = false});
  HttpClientOptions options;
  options.endpoints = {endpoint(server.url())};
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  const std::string body(5 << 20, 'x');
  constexpr size_t kInFlight = 2;
  constexpr size_t kMaxRequests = 400;
  std::mutex mutex;
  std::condition_variable cv;
  size_t sent = 0;
  size_t done = 0;
  size_t failed = 0;
  const auto start = Clock::now();
  const auto stop_sending = start + 1000ms;
  std::function<void(HttpResult)> on_done = [&](const HttpResult& result) {
    std::lock_guard lock(mutex);
    ++done;
    if (!result.responded || result.status != 200) ++failed;
    if (sent < kMaxRequests && Clock::now() < stop_sending) {
      ++sent;
      client->send(post(body), on_done);
    }
    cv.notify_all();
  };
  {
    std::lock_guard lock(mutex);
    for (size_t i = 0; i < kInFlight; ++i) {
      ++sent;
      client->send(post(body), on_done);
    }
  }
  std::unique_lock lock(mutex);
  ASSERT_TRUE(cv.wait_for(lock, 4s, [&] { return done == sent; }));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_EQ(failed, 0U);
  EXPECT_EQ(server.body_bytes(), sent * body.size());
  const double mb_per_s = static_cast<double>(sent * body.size()) / seconds / 1e6;
  std::printf("[ client ] %zu x 5 MiB in %.2f s: %.0f MB/s of request body\n", sent, seconds,
              mb_per_s);
  RecordProperty("MBps", static_cast<int>(mb_per_s));
}

}  // namespace
}  // namespace sluice::net
