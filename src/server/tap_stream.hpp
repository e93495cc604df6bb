#pragma once
// The response to GET /tap: a long-lived stream of a tap's lines (core/tap.hpp). Internal to the
// HTTP server, which hands a connection over once the request is accepted: from then on the
// connection holds none of the server's connection slots (so it is never evicted as idle, and
// probes keep their room); the tap registry caps these streams on its own.
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

#include "core/tap.hpp"

namespace sluice {

// What GET /tap gets: a subscription to stream, or a refusal to send as a small response.
struct TapAnswer {
  std::unique_ptr<TapSubscription> subscription;
  int status = 200;  // when refused: 400, 403, 404, 405, 500, 503
  bool json = false;
  std::string body;
};

// Checks the method (GET), the client (loopback only: 403 otherwise, as POST /reload) and the
// query of `target` (server/tap_query.hpp), then asks `open`. Nothing `open` throws escapes
// (500).
TapAnswer answer_tap(const std::function<TapOpened(const TapRequest&)>& open, bool get,
                     bool from_loopback, std::string_view target);

// Answers 200 on `socket` and streams the subscription's lines (chunked for HTTP/1.1, else
// until the connection closes) until the client closes it or the server stops. A client that
// reads slowly has one write outstanding at a time; what its stream samples meanwhile waits in
// the stream's bounded buffer, and past that is skipped and counted (never waited for).
void start_tap_stream(boost::asio::ip::tcp::socket socket,
                      std::unique_ptr<TapSubscription> subscription, bool chunked);

}  // namespace sluice
