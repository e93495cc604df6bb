// HttpClient::stream: a GET whose body is handed over line by line as the server sends it (a
// Kubernetes watch), against the scripted server's fed chunked answers.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_client_test_util.hpp"

namespace sluice::net {
namespace {

using namespace test;  // NOLINT(google-build-using-namespace): the test tools
using sluice::testing::ChunkFeed;

// What a stream delivered, readable from the test thread while it runs.
class StreamRecorder {
 public:
  HttpStreamRequest request(std::string target = "/api/v1/pods?watch=1") {
    HttpStreamRequest r;
    r.target = std::move(target);
    r.on_head = [this](int status) {
      std::lock_guard lock(mutex_);
      heads_.push_back(status);
    };
    r.on_data = [this](std::string_view data) {
      std::lock_guard lock(mutex_);
      data_.emplace_back(data);
      return keep_going_;
    };
    return r;
  }
  std::function<void(HttpResult)> done() {
    return [this](HttpResult result) { promise_.set_value(std::move(result)); };
  }
  HttpResult wait() {
    auto future = promise_.get_future();
    if (future.wait_for(5s) != std::future_status::ready) {
      ADD_FAILURE() << "the stream did not end within 5 s";
      return HttpResult{};
    }
    return future.get();
  }
  std::vector<std::string> data() {
    std::lock_guard lock(mutex_);
    return data_;
  }
  std::vector<int> heads() {
    std::lock_guard lock(mutex_);
    return heads_;
  }
  bool wait_for_items(size_t n) {
    return eventually([&] { return data().size() >= n; });
  }
  void stop_after_next() {
    std::lock_guard lock(mutex_);
    keep_going_ = false;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> data_;
  std::vector<int> heads_;
  bool keep_going_ = true;
  std::promise<HttpResult> promise_;
};

struct StreamFixture {
  explicit StreamFixture(std::function<Reply(const Received&)> handler)
      : server({.handler = std::move(handler)}) {
    HttpClientOptions options;
    options.endpoints = {endpoint(server.url("http", "/base"))};
    options.headers = {{"User-Agent", "sluice-test"}};
    client = make_client(std::move(options));
  }
  ScriptedHttpServer server;
  std::unique_ptr<HttpClient> client;
};

TEST(HttpStream, LinesArriveAsSentWhateverTheChunking) {
  auto feed = std::make_shared<ChunkFeed>();
  StreamFixture f([&](const Received&) { return Reply{.feed = feed}; });
  StreamRecorder recorder;
  HttpStreamRequest request = recorder.request();
  request.headers = {{"Authorization", "Bearer t1"}};
  auto handle = f.client->stream(std::move(request), recorder.done());

  ASSERT_TRUE(feed->wait_attached());
  feed->send("{\"a\":1}\n{\"b\"");
  // The first line is handed over while the answer is still open: it is a stream.
  ASSERT_TRUE(recorder.wait_for_items(1));
  EXPECT_EQ(recorder.data(), std::vector<std::string>({"{\"a\":1}"}));
  feed->send(":2}\r\n\n");
  feed->send("{\"c\"");
  feed->send(":3}");
  feed->end();
  const HttpResult result = recorder.wait();

  ASSERT_TRUE(result.responded) << result.error;
  EXPECT_EQ(result.status, 200);
  EXPECT_TRUE(result.body.empty());
  // CRLF endings lose their CR, empty lines are skipped, the last line needs no newline.
  EXPECT_EQ(recorder.data(), std::vector<std::string>({"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"}));
  EXPECT_EQ(recorder.heads(), std::vector<int>({200}));
  const auto requests = f.server.requests();
  ASSERT_EQ(requests.size(), 1U);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/base/api/v1/pods?watch=1");
  EXPECT_EQ(requests[0].header("authorization"), "Bearer t1");
  EXPECT_EQ(requests[0].header("user-agent"), "sluice-test");
}

TEST(HttpStream, RawChunksWhenNotSplitting) {
  auto feed = std::make_shared<ChunkFeed>();
  StreamFixture f([&](const Received&) { return Reply{.feed = feed}; });
  StreamRecorder recorder;
  HttpStreamRequest request = recorder.request();
  request.split_lines = false;
  f.client->stream(std::move(request), recorder.done());
  ASSERT_TRUE(feed->wait_attached());
  feed->send("ab\ncd");
  feed->send("\nef");
  feed->end();
  const HttpResult result = recorder.wait();
  ASSERT_TRUE(result.responded) << result.error;
  std::string all;
  for (const auto& piece : recorder.data()) all += piece;
  EXPECT_EQ(all, "ab\ncd\nef");
}

TEST(HttpStream, ErrorStatusBodyGoesToTheResultNotToTheReader) {
  StreamFixture f([](const Received&) {
    return Reply{.status = 410, .body = R"({"kind":"Status","code":410,"reason":"Expired"})"};
  });
  StreamRecorder recorder;
  f.client->stream(recorder.request(), recorder.done());
  const HttpResult result = recorder.wait();
  ASSERT_TRUE(result.responded) << result.error;
  EXPECT_EQ(result.status, 410);
  EXPECT_EQ(result.body, R"({"kind":"Status","code":410,"reason":"Expired"})");
  EXPECT_TRUE(recorder.data().empty());
  EXPECT_EQ(recorder.heads(), std::vector<int>({410}));
}

TEST(HttpStream, StreamedErrorStatusIsCollectedToo) {
  auto feed = std::make_shared<ChunkFeed>();
  StreamFixture f([&](const Received&) { return Reply{.status = 401, .feed = feed}; });
  StreamRecorder recorder;
  f.client->stream(recorder.request(), recorder.done());
  ASSERT_TRUE(feed->wait_attached());
  feed->send("{\"code\":");
  feed->send("401}\n");
  feed->end();
  const HttpResult result = recorder.wait();
  ASSERT_TRUE(result.responded) << result.error;
  EXPECT_EQ(result.status, 401);
  EXPECT_EQ(result.body, "{\"code\":401}\n");
  EXPECT_TRUE(recorder.data().empty());
}

TEST(HttpStream, LineOverTheCapFailsTheStream) {
  auto feed = std::make_shared<ChunkFeed>();
  StreamFixture f([&](const Received&) { return Reply{.feed = feed}; });
  StreamRecorder recorder;
  HttpStreamRequest request = recorder.request();
  request.max_line_bytes = 100;
  f.client->stream(std::move(request), recorder.done());
  ASSERT_TRUE(feed->wait_attached());
  feed->send(std::string(99, 'x') + "\n");  // at the cap's edge: fine
  feed->send(std::string(60, 'y'));
  feed->send(std::string(60, 'y'));  // no newline in 120 bytes: over the cap
  const HttpResult result = recorder.wait();
  EXPECT_FALSE(result.responded);
  EXPECT_NE(result.error.find("over 100 bytes"), std::string::npos) << result.error;
  EXPECT_EQ(recorder.data(), std::vector<std::string>({std::string(99, 'x')}));
}

TEST(HttpStream, LongLineInOneReadOverTheCapFailsToo) {
  auto feed = std::make_shared<ChunkFeed>();
  StreamFixture f([&](const Received&) { return Reply{.feed = feed}; });
  StreamRecorder recorder;
  HttpStreamRequest request = recorder.request();
  request.max_line_bytes = 10;
  f.client->stream(std::move(request), recorder.done());
  ASSERT_TRUE(feed->wait_attached());
  feed->send("short\n" + std::string(11, 'z') + "\nnever\n");
  const HttpResult result = recorder.wait();
  EXPECT_FALSE(result.responded);
  EXPECT_NE(result.error.find("over 10 bytes"), std::string::npos) << result.error;
  EXPECT_EQ(recorder.data(), std::vector<std::string>({"short"}));
}

TEST(HttpStream, SilenceLongerThanTheIdleTimeoutFailsTheStream) {
  auto feed = std::make_shared<ChunkFeed>();
  StreamFixture f([&](const Received&) { return Reply{.feed = feed}; });
  StreamRecorder recorder;
  HttpStreamRequest request = recorder.request();
  request.idle_timeout_ns = 150'000'000;
  f.client->stream(std::move(request), recorder.done());
  ASSERT_TRUE(feed->wait_attached());
  feed->send("one\n");
  const HttpResult result = recorder.wait();
  EXPECT_FALSE(result.responded);
  EXPECT_FALSE(result.cancelled);
  EXPECT_NE(result.error.find("no data for 150 ms"), std::string::npos) << result.error;
  EXPECT_EQ(recorder.data(), std::vector<std::string>({"one"}));
}

TEST(HttpStream, DroppedConnectionEndsTheStreamWithAnErrorAndNoRetry) {
  auto feed = std::make_shared<ChunkFeed>();
  StreamFixture f([&](const Received&) { return Reply{.feed = feed}; });
  StreamRecorder recorder;
  f.client->stream(recorder.request(), recorder.done());
  ASSERT_TRUE(feed->wait_attached());
  feed->send("first\n");
  ASSERT_TRUE(recorder.wait_for_items(1));
  feed->drop();
  const HttpResult result = recorder.wait();
  EXPECT_FALSE(result.responded);
  EXPECT_FALSE(result.cancelled);
  EXPECT_FALSE(result.error.empty());
  EXPECT_EQ(recorder.data(), std::vector<std::string>({"first"}));
  EXPECT_EQ(f.server.request_count(), 1U);
}

TEST(HttpStream, CancelFromAnotherThreadEndsIt) {
  auto feed = std::make_shared<ChunkFeed>();
  StreamFixture f([&](const Received&) { return Reply{.feed = feed}; });
  StreamRecorder recorder;
  auto handle = f.client->stream(recorder.request(), recorder.done());
  ASSERT_TRUE(feed->wait_attached());
  feed->send("a\n");
  ASSERT_TRUE(recorder.wait_for_items(1));
  std::thread([&] { handle->cancel(); }).join();
  const HttpResult result = recorder.wait();
  EXPECT_TRUE(result.cancelled);
  EXPECT_NE(result.error.find("cancelled by its caller"), std::string::npos) << result.error;
  EXPECT_EQ(result.status, 200);
  // Once ended, a cancel (also after the client is gone) does nothing.
  handle->cancel();
  f.client.reset();
  handle->cancel();
}

TEST(HttpStream, ReaderReturningFalseStopsIt) {
  auto feed = std::make_shared<ChunkFeed>();
  StreamFixture f([&](const Received&) { return Reply{.feed = feed}; });
  StreamRecorder recorder;
  recorder.stop_after_next();
  f.client->stream(recorder.request(), recorder.done());
  ASSERT_TRUE(feed->wait_attached());
  feed->send("a\nb\nc\n");
  const HttpResult result = recorder.wait();
  EXPECT_TRUE(result.cancelled);
  EXPECT_EQ(recorder.data(), std::vector<std::string>({"a"}));
}

TEST(HttpStream, ClientStopCancelsAStreamInFlight) {
  auto feed = std::make_shared<ChunkFeed>();
  StreamFixture f([&](const Received&) { return Reply{.feed = feed}; });
  StreamRecorder recorder;
  f.client->stream(recorder.request(), recorder.done());
  ASSERT_TRUE(feed->wait_attached());
  f.client->stop();
  const HttpResult result = recorder.wait();
  EXPECT_TRUE(result.cancelled);
  EXPECT_NE(result.error.find("client stopped"), std::string::npos) << result.error;
  // After stop, a new stream is answered at once.
  StreamRecorder late;
  f.client->stream(late.request(), late.done());
  EXPECT_TRUE(late.wait().cancelled);
}

TEST(HttpStream, CompletedStreamLeavesItsConnectionForTheNextRequest) {
  auto feed = std::make_shared<ChunkFeed>();
  std::atomic<int> seen{0};
  StreamFixture f([&](const Received&) {
    return ++seen == 1 ? Reply{.feed = feed} : Reply{.body = "{\"kind\":\"Pod\"}"};
  });
  StreamRecorder recorder;
  f.client->stream(recorder.request(), recorder.done());
  ASSERT_TRUE(feed->wait_attached());
  feed->send("{}\n");
  feed->end();
  ASSERT_TRUE(recorder.wait().responded);
  HttpRequest get;
  get.method = "GET";
  get.target = "/api/v1/namespaces/default/pods/web-1";
  get.headers = {{"Authorization", "Bearer t2"}};
  const HttpResult result = send_sync(*f.client, get);
  ASSERT_TRUE(result.responded) << result.error;
  EXPECT_EQ(result.body, "{\"kind\":\"Pod\"}");
  EXPECT_EQ(f.server.connections(), 1U);
  EXPECT_EQ(f.server.requests().at(1).header("authorization"), "Bearer t2");
}

TEST(HttpStream, RefusedConnectionIsAnError) {
  HttpClientOptions options;
  options.endpoints = {endpoint("http://127.0.0.1:" + std::to_string(refused_port()))};
  auto client = make_client(std::move(options));
  StreamRecorder recorder;
  client->stream(recorder.request(), recorder.done());
  const HttpResult result = recorder.wait();
  EXPECT_FALSE(result.responded);
  EXPECT_FALSE(result.cancelled);
  EXPECT_NE(result.error.find("connecting to"), std::string::npos) << result.error;
  EXPECT_TRUE(recorder.heads().empty());
}

}  // namespace
}  // namespace sluice::net
