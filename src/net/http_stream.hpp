#pragma once
// The parts of a streamed GET (HttpClient::stream) beside its Exchange: what the stream keeps
// while it reads (parser, read buffer, the line splitter with the unfinished line), and the
// handle that cancels it from any thread. Internal to net/.
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "net/http_client.hpp"
#include "net/http_exchange.hpp"
#include "net/line_splitter.hpp"

namespace sluice::net {

struct Exchange::StreamState {
  explicit StreamState(HttpStreamRequest r)
      : request(std::move(r)), lines(request.max_line_bytes) {}

  [[nodiscard]] bool received_some() const { return parser && parser->got_some(); }

  HttpStreamRequest request;
  std::optional<boost::beast::http::response_parser<boost::beast::http::buffer_body>> parser;
  LineSplitter lines;         // a 2xx body's lines, when split_lines
  std::vector<char> scratch;  // what one read hands over
  std::string error_body;     // the body of a non-2xx answer
  bool head_seen = false;
  bool success = false;  // 2xx: the body goes to on_data
  int status = 0;
};

// Where a cancel() from any thread is posted; the client empties it when it stops, so that a
// handle that outlives its client does nothing.
struct CancelGate {
  std::mutex mutex;
  boost::asio::io_context* ioc = nullptr;  // under mutex
};

class StreamHandle final : public HttpStream {
 public:
  StreamHandle(std::shared_ptr<CancelGate> gate, std::weak_ptr<Exchange> exchange)
      : gate_(std::move(gate)), exchange_(std::move(exchange)) {}
  void cancel() override;

 private:
  std::shared_ptr<CancelGate> gate_;
  std::weak_ptr<Exchange> exchange_;
};

}  // namespace sluice::net
