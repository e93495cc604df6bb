// The HTTP server under idle, slow and silent clients: timeouts, the connection cap and who
// gives way when it is reached (a probe must always get through).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/http_server.hpp"
#include "support/http_client.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::Client;

class HttpConnectionsTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions options = {}) {
    HttpServer::Handlers handlers;
    handlers.metrics = [this] { return std::string(metrics_size.load(), 'm'); };
    handlers.ready = [] { return HealthReport{true, R"({"status":"ok"})"}; };
    handlers.live = [] { return HealthReport{true, R"({"status":"ok"})"}; };
    std::string error;
    server = HttpServer::start("127.0.0.1:0", std::move(handlers), &error, options);
    ASSERT_NE(server, nullptr) << error;
  }

  // One request on a new connection; true when it was answered 200.
  bool probe(const char* path = "/health/live") {
    Client client(server->port());
    Client::Response r;
    return client.connected() &&
           client.send(std::string("GET ") + path + " HTTP/1.1\r\nConnection: close\r\n\r\n") &&
           client.read_response(&r) && r.status == 200;
  }

  std::atomic<size_t> metrics_size{16};
  std::unique_ptr<HttpServer> server;
};

// The kernel hands a connection that sends nothing over after about a second
// (TCP_DEFER_ACCEPT); from then on the idle timeout applies.
TEST_F(HttpConnectionsTest, IdleConnectionClosedAfterIdleTimeout) {
  HttpServerOptions options;
  options.idle_timeout = 300ms;
  start(options);
  Client client(server->port());
  const auto begin = Clock::now();
  EXPECT_TRUE(client.closed_by_server());
  const auto waited = Clock::now() - begin;
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 3s);
}

TEST_F(HttpConnectionsTest, KeepAliveIdleConnectionAlsoTimesOut) {
  HttpServerOptions options;
  options.idle_timeout = 300ms;
  start(options);
  Client client(server->port());
  Client::Response r;
  ASSERT_TRUE(client.send("GET /metrics HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(client.read_response(&r));
  EXPECT_TRUE(client.closed_by_server());
}

// Slowloris: every byte arrives well within any per-read timer, yet the request as a whole is
// cut off by one deadline that starts with its first byte.
TEST_F(HttpConnectionsTest, DribblingClientIsCutOffByTheRequestDeadline) {
  HttpServerOptions options;
  options.idle_timeout = 10s;
  options.request_timeout = 400ms;
  start(options);
  Client client(server->port());
  const auto begin = Clock::now();
  const std::string request = "GET /metrics HTTP/1.1\r\nX-Slow: " + std::string(200, 'a');
  size_t sent = 0;
  while (sent < request.size() && client.send(request.substr(sent, 1))) {
    ++sent;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(client.closed_by_server());
  const auto waited = Clock::now() - begin;
  EXPECT_GE(waited, 350ms);
  EXPECT_LT(waited, 3s);
  EXPECT_LT(sent, request.size());
}

// The request deadline starts with the first byte, not at accept: a keep-alive client may wait
// (up to idle_timeout) before it asks.
TEST_F(HttpConnectionsTest, RequestDeadlineStartsWithTheFirstByte) {
  HttpServerOptions options;
  options.idle_timeout = 10s;
  options.request_timeout = 300ms;
  start(options);
  Client client(server->port());
  std::this_thread::sleep_for(600ms);
  Client::Response r;
  ASSERT_TRUE(client.send("GET /metrics HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(client.read_response(&r));
  EXPECT_EQ(r.status, 200);
}

TEST_F(HttpConnectionsTest, ManyConcurrentConnections) {
  start();
  constexpr int kClients = 48;
  std::vector<std::unique_ptr<Client>> clients;
  clients.reserve(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<Client>(server->port()));
    ASSERT_TRUE(clients.back()->connected());
  }
  for (auto& c : clients) ASSERT_TRUE(c->send("GET /metrics HTTP/1.1\r\n\r\n"));
  for (auto& c : clients) {
    Client::Response r;
    ASSERT_TRUE(c->read_response(&r));
    EXPECT_EQ(r.status, 200);
  }
  // And from several threads at once, each with its own keep-alive connection.
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      Client c(server->port());
      for (int i = 0; i < 20; ++i) {
        Client::Response r;
        if (c.send("GET /health HTTP/1.1\r\n\r\n") && c.read_response(&r) && r.status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8 * 20);
}

// Sends one request on `client` and reads the answer; true when it was 200.
bool ask(Client& client, const char* path = "/metrics") {
  Client::Response r;
  return client.send(std::string("GET ") + path + " HTTP/1.1\r\n\r\n") &&
         client.read_response(&r) && r.status == 200;
}

// At the cap, a new connection closes the one that has waited longest for its request (still
// sending it, or idle on keep-alive since its last answer); one being answered goes last.
// Clients that have sent nothing are left out: TCP_DEFER_ACCEPT keeps them in the kernel.
TEST_F(HttpConnectionsTest, FullHouseEvictsTheConnectionWaitingLongest) {
  HttpServerOptions options;
  options.max_connections = 2;
  start(options);
  Client first(server->port());
  ASSERT_TRUE(first.send("G"));
  Client second(server->port());
  ASSERT_TRUE(second.send("GET /metrics HTTP/1.1\r\nHost:"));

  Client c(server->port());
  ASSERT_TRUE(ask(c));
  EXPECT_TRUE(first.closed_by_server());

  Client d(server->port());
  ASSERT_TRUE(ask(d, "/health/live"));
  EXPECT_TRUE(second.closed_by_server());

  // `c`, idle since its answer, has waited longer than `d`: it goes now.
  Client e(server->port());
  ASSERT_TRUE(ask(e));
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_TRUE(ask(d, "/health"));
}

// A connection being answered gives way only when no connection is waiting.
TEST_F(HttpConnectionsTest, AConnectionBeingAnsweredIsEvictedLast) {
  HttpServerOptions options;
  options.max_connections = 2;
  start(options);
  // Far more than the socket buffers hold, so the answer stays in progress while unread.
  metrics_size = 64u << 20;
  Client reader(server->port());
  ASSERT_TRUE(reader.send("GET /metrics HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(reader.fill());  // the answer has started
  metrics_size = 16;
  Client waiting(server->port());
  ASSERT_TRUE(waiting.send("GET /health HTTP/1.1\r\n"));
  EXPECT_TRUE(probe());
  EXPECT_TRUE(waiting.closed_by_server());
  // The big answer arrives whole.
  Client::Response r;
  ASSERT_TRUE(reader.read_response(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), 64u << 20);
}

// Hundreds of connections that never send anything (or send half a request) cannot lock a
// probe out, and the probe does not wait for any timeout.
TEST_F(HttpConnectionsTest, SilentAndHalfSentConnectionsCannotLockOutAProbe) {
  HttpServerOptions options;
  options.max_connections = 8;
  start(options);
  std::vector<std::unique_ptr<Client>> attackers;
  for (int i = 0; i < 300; ++i) {
    attackers.push_back(std::make_unique<Client>(server->port()));
    ASSERT_TRUE(attackers.back()->connected());
    if (i % 2 == 1) attackers.back()->send("GET /metrics HTTP/1.1\r\nX-Slow: a");
  }
  // Silent connections are handed over by the kernel about a second after they were made
  // (TCP_DEFER_ACCEPT): probe on past that.
  const auto end = Clock::now() + 2s;
  for (int i = 0; i < 20 || Clock::now() < end; ++i) {
    const auto begin = Clock::now();
    EXPECT_TRUE(probe(i % 2 == 0 ? "/health/live" : "/metrics"));
    EXPECT_LT(Clock::now() - begin, 2s);
    std::this_thread::sleep_for(20ms);
  }
}

TEST_F(HttpConnectionsTest, ZeroConnectionsAllowedClosesEveryConnection) {
  HttpServerOptions options;
  options.max_connections = 0;
  start(options);
  Client client(server->port());
  EXPECT_TRUE(client.send("GET /health HTTP/1.1\r\n\r\n"));
  EXPECT_TRUE(client.closed_by_server());
}

}  // namespace
}  // namespace sluice
