#include "server/http_server.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/http_client.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::Client;

constexpr std::string_view kMetricsText = "# TYPE sluice_up gauge\nsluice_up 1\n";

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions options = {}) {
    HttpServer::Handlers handlers;
    handlers.metrics = [this] {
      if (throw_in_handler.load()) throw std::runtime_error("boom");
      return std::string(kMetricsText);
    };
    handlers.ready = [this] {
      return HealthReport{healthy.load(),
                          healthy.load() ? R"({"status":"ok"})" : R"({"status":"failing"})"};
    };
    handlers.live = [this] {
      return HealthReport{live.load(), live.load() ? R"({"live":true})" : R"({"live":false})"};
    };
    std::string error;
    server = HttpServer::start("127.0.0.1:0", std::move(handlers), &error, options);
    ASSERT_NE(server, nullptr) << error;
    ASSERT_NE(server->port(), 0);
  }

  Client::Response get(const std::string& request, bool head = false) {
    Client client(server->port());
    EXPECT_TRUE(client.connected());
    EXPECT_TRUE(client.send(request));
    Client::Response response;
    EXPECT_TRUE(client.read_response(&response, head));
    return response;
  }

  std::atomic<bool> healthy{true};
  std::atomic<bool> live{true};
  std::atomic<bool> throw_in_handler{false};
  std::unique_ptr<HttpServer> server;
};

TEST_F(HttpServerTest, GetMetrics) {
  start();
  const auto r = get("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.header("content-length"), std::to_string(kMetricsText.size()));
  EXPECT_EQ(r.body, kMetricsText);
}

TEST_F(HttpServerTest, QueryStringIgnored) {
  start();
  EXPECT_EQ(get("GET /metrics?format=text HTTP/1.1\r\n\r\n").status, 200);
}

TEST_F(HttpServerTest, HealthHealthyAndFailing) {
  start();
  auto r = get("GET /health HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.body, R"({"status":"ok"})");
  healthy = false;
  r = get("GET /health HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"status":"failing"})");
}

TEST_F(HttpServerTest, ReadyIsHealthAndLiveIsSeparate) {
  start();
  healthy = false;
  for (const char* path : {"/health", "/health/ready", "/health/ready?verbose=1"}) {
    const auto r = get(std::string("GET ") + path + " HTTP/1.1\r\n\r\n");
    EXPECT_EQ(r.status, 503) << path;
    EXPECT_EQ(r.body, R"({"status":"failing"})") << path;
  }
  auto r = get("GET /health/live HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.body, R"({"live":true})");
  live = false;
  healthy = true;
  EXPECT_EQ(get("GET /health/live HTTP/1.1\r\n\r\n").status, 503);
  EXPECT_EQ(get("GET /health HTTP/1.1\r\n\r\n").status, 200);
  EXPECT_EQ(get("GET /health/ HTTP/1.1\r\n\r\n").status, 404);
  EXPECT_EQ(get("GET /health/livex HTTP/1.1\r\n\r\n").status, 404);
  EXPECT_EQ(get("POST /health/live HTTP/1.1\r\n\r\n").status, 405);
}

TEST_F(HttpServerTest, HeadHasLengthButNoBody) {
  start();
  Client client(server->port());
  ASSERT_TRUE(client.send("HEAD /metrics HTTP/1.1\r\n\r\nHEAD /health HTTP/1.1\r\n\r\n"));
  Client::Response r;
  ASSERT_TRUE(client.read_response(&r, /*head=*/true));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-length"), std::to_string(kMetricsText.size()));
  ASSERT_TRUE(client.read_response(&r, /*head=*/true));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  // Had a body been sent, its bytes would be here (or would have broken the second status line).
  EXPECT_EQ(client.leftover(), "");
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  Client client(server->port());
  Client::Response r;
  ASSERT_TRUE(client.send("GET /metrics HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(client.read_response(&r));
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(client.send("GET /health HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(client.read_response(&r));
  EXPECT_EQ(r.status, 200);
  // Pipelined: both requests in one write.
  ASSERT_TRUE(client.send("GET /metrics HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(client.read_response(&r));
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(client.read_response(&r));
  EXPECT_EQ(r.status, 404);
  // Connection: close is honoured.
  ASSERT_TRUE(client.send("GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(client.read_response(&r));
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAliveAsked) {
  start();
  Client client(server->port());
  Client::Response r;
  ASSERT_TRUE(client.send("GET /metrics HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(client.read_response(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  start();
  EXPECT_EQ(get("GET / HTTP/1.1\r\n\r\n").status, 404);
  EXPECT_EQ(get("GET /metricsx HTTP/1.1\r\n\r\n").status, 404);
  EXPECT_EQ(get("GET /../etc/passwd HTTP/1.1\r\n\r\n").status, 404);
}

TEST_F(HttpServerTest, OtherMethodsAre405WithAllow) {
  start();
  const auto r = get("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "GET, HEAD");
  EXPECT_EQ(get("DELETE /health HTTP/1.1\r\n\r\n").status, 405);
}

TEST_F(HttpServerTest, GarbageIs400ThenClose) {
  start();
  Client client(server->port());
  ASSERT_TRUE(client.send("\x16\x03\x01\x02\x00garbage\r\n\r\n"));
  Client::Response r;
  ASSERT_TRUE(client.read_response(&r));
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(HttpServerTest, OversizedHeaderIs431ThenClose) {
  start();
  Client client(server->port());
  const std::string big(16 * 1024, 'a');
  ASSERT_TRUE(client.send("GET /metrics HTTP/1.1\r\nX-Big: " + big + "\r\n\r\n"));
  Client::Response r;
  ASSERT_TRUE(client.read_response(&r));
  EXPECT_EQ(r.status, 431);
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(HttpServerTest, OversizedBodyIs413) {
  start();
  Client client(server->port());
  ASSERT_TRUE(client.send("POST /metrics HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" +
                          std::string(4096, 'x')));
  Client::Response r;
  ASSERT_TRUE(client.read_response(&r));
  EXPECT_EQ(r.status, 413);
}

TEST_F(HttpServerTest, ThrowingHandlerIs500AndServerCarriesOn) {
  start();
  throw_in_handler = true;
  EXPECT_EQ(get("GET /metrics HTTP/1.1\r\n\r\n").status, 500);
  throw_in_handler = false;
  EXPECT_EQ(get("GET /metrics HTTP/1.1\r\n\r\n").status, 200);
}

TEST_F(HttpServerTest, DestructionClosesOpenConnections) {
  start();
  Client idle(server->port());
  Client partial(server->port());
  Client served(server->port());
  ASSERT_TRUE(partial.send("GET /metrics HTTP/1.1\r\nHost:"));
  Client::Response r;
  ASSERT_TRUE(served.send("GET /metrics HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(served.read_response(&r));
  const auto begin = Clock::now();
  server.reset();
  EXPECT_LT(Clock::now() - begin, 1s);
  // A connection that has sent nothing may still be the kernel's (TCP_DEFER_ACCEPT), which
  // drops it silently with the listener: it is refused as soon as it speaks.
  idle.send("GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(idle.closed_by_server());
  EXPECT_TRUE(partial.closed_by_server());
  EXPECT_TRUE(served.closed_by_server());
}

// sluice spawns the wrapped application: it must not inherit the listener or a connection.
TEST_F(HttpServerTest, ServerSocketsAreCloseOnExec) {
  start();
  Client client(server->port());
  Client::Response r;
  ASSERT_TRUE(client.send("GET /metrics HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(client.read_response(&r));
  int server_sockets = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  ASSERT_NE(dir, nullptr);
  while (const dirent* entry = ::readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    sockaddr_in local{};
    socklen_t length = sizeof local;
    if (entry->d_name[0] == '.' || fd == ::dirfd(dir) ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0 ||
        local.sin_family != AF_INET || ntohs(local.sin_port) != server->port()) {
      continue;
    }
    // The listener and the accepted connection share the server's local port.
    ++server_sockets;
    EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0) << "fd " << fd;
  }
  ::closedir(dir);
  EXPECT_GE(server_sockets, 2);
}

TEST(HttpServerStart, RejectsBadAddresses) {
  for (const char* address : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:http",
                              ":9598", "::1:9598", "[::1", "[::1]9598", "127.0.0.1:-1"}) {
    std::string error;
    EXPECT_EQ(HttpServer::start(address, {}, &error), nullptr) << address;
    EXPECT_NE(error, "") << address;
  }
}

TEST(HttpServerStart, PortInUseIsAnError) {
  std::string error;
  auto first = HttpServer::start("127.0.0.1:0", {}, &error);
  ASSERT_NE(first, nullptr) << error;
  const std::string taken = "127.0.0.1:" + std::to_string(first->port());
  EXPECT_EQ(HttpServer::start(taken, {}, &error), nullptr);
  EXPECT_NE(error.find("cannot listen"), std::string::npos) << error;
}

TEST(HttpServerStart, Ipv6LoopbackWhenAvailable) {
  std::string error;
  auto server = HttpServer::start("[::1]:0", {}, &error);
  if (server == nullptr) GTEST_SKIP() << "no IPv6 loopback: " << error;
  EXPECT_NE(server->port(), 0);
}

TEST(HttpServerStart, MissingHandlerIs404) {
  std::string error;
  auto server = HttpServer::start("127.0.0.1:0", {}, &error);
  ASSERT_NE(server, nullptr) << error;
  Client client(server->port());
  Client::Response r;
  ASSERT_TRUE(client.send("GET /metrics HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(client.read_response(&r));
  EXPECT_EQ(r.status, 404);
}

TEST(HttpServerStart, HostNamesAreResolved) {
  std::string error;
  auto server = HttpServer::start("localhost:0", {}, &error);
  ASSERT_NE(server, nullptr) << error;
  EXPECT_NE(server->port(), 0);
}

TEST(HttpMetricsAddress, FromEnvValue) {
  EXPECT_EQ(metrics_address_from_env_value(nullptr), "127.0.0.1:9598");
  EXPECT_EQ(metrics_address_from_env_value(""), std::nullopt);
  EXPECT_EQ(metrics_address_from_env_value("  "), std::nullopt);
  EXPECT_EQ(metrics_address_from_env_value("off"), std::nullopt);
  EXPECT_EQ(metrics_address_from_env_value("OFF"), std::nullopt);
  EXPECT_EQ(metrics_address_from_env_value("none"), std::nullopt);
  EXPECT_EQ(metrics_address_from_env_value("0.0.0.0:9100"), "0.0.0.0:9100");
  EXPECT_EQ(metrics_address_from_env_value(" [::]:9598\n"), "[::]:9598");
}

TEST(HttpMetricsAddress, FromEnvironment) {
  ::setenv("SLUICE_METRICS_ADDR", "off", 1);
  EXPECT_EQ(metrics_address_from_env(), std::nullopt);
  ::setenv("SLUICE_METRICS_ADDR", "127.0.0.1:1234", 1);
  EXPECT_EQ(metrics_address_from_env(), "127.0.0.1:1234");
  ::unsetenv("SLUICE_METRICS_ADDR");
  EXPECT_EQ(metrics_address_from_env(), "127.0.0.1:9598");
}

}  // namespace
}  // namespace sluice
