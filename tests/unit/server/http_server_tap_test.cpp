// GET /tap on the HTTP server: refusals are small responses, and an accepted stream leaves the
// connection slots (it is neither evicted as idle nor in the way of probes) and ends, freeing
// its place among the tap streams, when its client goes.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.hpp"
#include "parse/event_parser.hpp"
#include "server/http_server.hpp"
#include "support/batch.hpp"
#include "support/http_client.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using testing::Client;

class HttpTapTest : public ::testing::Test {
 protected:
  void start(size_t max_connections) {
    HttpServer::Handlers handlers;
    handlers.live = [] { return HealthReport{true, R"({"status":"ok"})"}; };
    handlers.tap = [this](const TapRequest& request) {
      return registry.open(request, {{"app", "source"}}, monotonic_ns());
    };
    HttpServerOptions options;
    options.max_connections = max_connections;
    std::string error;
    server = HttpServer::start("127.0.0.1:0", std::move(handlers), &error, options);
    ASSERT_NE(server, nullptr) << error;
  }

  // Sends GET `target` and reads the response head and, when accepted, the opening line.
  void open_tap(Client& client, const std::string& target = "/tap?components=app") {
    ASSERT_TRUE(client.send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(client.read_until(R"({"notice":"tapping")")) << client.leftover();
    EXPECT_EQ(client.leftover().rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    EXPECT_NE(client.leftover().find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  }

  void offer_line(const std::string& line) {
    Batch batch;
    testing::fill_batch(batch, {line});
    std::string error;
    EventParser::create(ParserOptions{}, &error)->parse(batch, wall_clock_ns());
    registry.offer("app", batch, batch.events, SourceMeta{"app", "h", false}, monotonic_ns());
  }

  bool probe() {
    Client client(server->port());
    Client::Response r;
    return client.send("GET /health/live HTTP/1.1\r\nConnection: close\r\n\r\n") &&
           client.read_response(&r) && r.status == 200;
  }

  TapRegistry registry{1};
  std::unique_ptr<HttpServer> server;
};

TEST_F(HttpTapTest, AStreamTakesNoConnectionSlotAndIsNeverEvicted) {
  start(/*max_connections=*/1);
  Client tap(server->port());
  open_tap(tap);
  // With one slot, a tap holding it would be evicted by the first probe, or lock it out.
  ASSERT_TRUE(probe());
  ASSERT_TRUE(probe());
  Client idle(server->port());
  ASSERT_TRUE(idle.send("GET /health/live HTTP/1.1\r\n"));  // an unfinished request holds a slot
  ASSERT_TRUE(probe());
  offer_line("still streaming");
  EXPECT_TRUE(tap.read_until("still streaming")) << tap.leftover();
}

TEST_F(HttpTapTest, RefusalsAreSmallResponsesThatSayWhy) {
  start(8);
  Client tap(server->port());
  open_tap(tap);
  struct Case {
    std::string request;
    int status;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"GET /tap?components=nope HTTP/1.1\r\n\r\n", 404, R"("components":[{"name":"app")"},
      {"GET /tap?components=app HTTP/1.1\r\n\r\n", 503, "at most 1"},
      {"GET /tap?rate=x HTTP/1.1\r\n\r\n", 400, "rate must be"},
      {"POST /tap HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405, "method not allowed"},
  };
  for (const Case& c : cases) {
    Client client(server->port());
    Client::Response r;
    ASSERT_TRUE(client.send(c.request) && client.read_response(&r)) << c.request;
    EXPECT_EQ(r.status, c.status) << c.request;
    EXPECT_NE(r.body.find(c.says), std::string::npos) << r.body;
  }
}

TEST_F(HttpTapTest, AClientThatLeavesFreesItsPlace) {
  start(8);
  {
    Client tap(server->port());
    open_tap(tap);
    EXPECT_TRUE(registry.active());
  }
  // The server notices the close at its next read; bounded wait, no timing in the assertion.
  for (int i = 0; i < 500 && registry.active(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(registry.active());
  Client again(server->port());
  open_tap(again);
}

}  // namespace
}  // namespace sluice
