// sluice_es_emulator: an emulator of Elasticsearch's `_bulk` API for the end-to-end tests and
// the benchmark of the `elasticsearch` sink, driven line by line over stdin.
//
//   sluice_es_emulator [--port N] [--reject-429 FRACTION] [--fail-503 FRACTION] [--seed N]
//                      [--data-streams PATTERN,...] [--null] [--tls-cert F --tls-key F]
//                      [--basic USER:PASS] [--api-key KEY] [--max-bytes-per-second N]
//
// The first line on stdout is `address=127.0.0.1:PORT`. Then one command per stdin line, each
// answered by one line (`ok ...`, or `error ...`):
//   down                  close the listener and every connection (connects are refused)
//   up                    listen again on the same port
//   set reject-429 F      share of bulk items answered 429 es_rejected_execution_exception
//   set fail-503 F        share of bulk requests answered 503 as a whole (nothing stored)
//   set max-bytes-per-second N
//                         cap bulk body throughput at N bytes/s (0 = unlimited, the default)
//   stats                 `ok {…}`: the counters of GET /_emulator/stats
//   quit                  (end of input too)
//
// HTTP (127.0.0.1 only): POST|PUT /_bulk and /{index}/_bulk (query: pipeline, refresh, routing,
// timeout, filter_path, … accepted and ignored); GET / (cluster info, version 8.x);
// GET /_emulator/stats (JSON counters) and GET /_emulator/docs (NDJSON: {"_index","_id",
// "_source"} per stored document, in store order) for the tests; neither needs credentials.
// --null answers every POST with {"took":0,"errors":false,"items":[]} without parsing the body
// (the benchmark's endpoint: the figure must measure sluice, not the emulator).
// --max-bytes-per-second N (and `set max-bytes-per-second N`) emulates a cluster that indexes
// only N bytes of bulk bodies (as received, gzip or not) per second, to test a slow consumer:
// every bulk request is applied at once, but its answer is held back until the bodies received
// so far would have drained at N bytes/s (one clock shared by every connection). A client that
// waits for answers before sending more, as a bulk client with bounded concurrency does, is
// held to N bytes/s on average. Setting 0 lifts the limit and sends every held answer at once;
// a new non-zero rate applies to the requests that arrive after it. /_emulator/stats reports
// `max_bytes_per_second` and `throttled_requests` (bulk requests that arrived while limited).
//
// Written from Elastic's documentation and source (wording of errors kept):
//  - Bulk API: https://www.elastic.co/guide/en/elasticsearch/reference/8.14/docs-bulk.html
//    (NDJSON action/source pairs, "the final line of data must end with a newline character
//    \n", response body `took`/`errors`/`items` with per-item `status`, `result`, `_version`,
//    `_seq_no`, `_shards`, `error.type`/`error.reason`; "Data streams support only the create
//    action"; the `/<target>/_bulk` default index; the `pipeline`, `refresh` parameters).
//  - Elasticsearch's TransportBulkAction ("only write ops with an op_type of create are allowed
//    in data streams"), DataStreamTimestampFieldMapper ("data stream timestamp field
//    [@timestamp] is missing"), RestMultiSearchAction/BulkRequestParser ("must be terminated by
//    a newline [\n]", "Malformed action/metadata line"), MetadataCreateIndexService (index name
//    rules), es_rejected_execution_exception for write-queue rejections (429).
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "server.hpp"

namespace {

namespace asio = boost::asio;
using es_emu::Config;
using es_emu::Server;

[[noreturn]] void usage(const std::string& message) {
  std::fprintf(stderr,
               "sluice_es_emulator: %s\n"
               "usage: sluice_es_emulator [--port N] [--reject-429 F] [--fail-503 F] [--seed N]\n"
               "       [--data-streams PATTERN,...] [--null] [--tls-cert F --tls-key F]\n"
               "       [--basic USER:PASS] [--api-key KEY] [--max-bytes-per-second N]\n",
               message.c_str());
  std::exit(2);
}

bool parse_fraction(const std::string& text, double* out) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= 0 && v <= 1)) return false;
  *out = v;
  return true;
}

bool parse_u64(const std::string& text, uint64_t* out) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno == ERANGE) return false;
  *out = v;
  return true;
}

Config parse_args(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--null") {
      c.null_mode = true;
      continue;
    }
    if (i + 1 >= argc) usage("missing value after " + arg);
    std::string value = argv[++i];
    char* end = nullptr;
    if (arg == "--port") {
      long port = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || port < 0 || port > 65535) usage("bad --port");
      c.port = static_cast<uint16_t>(port);
    } else if (arg == "--reject-429") {
      if (!parse_fraction(value, &c.reject_429)) usage("--reject-429 takes 0..1");
    } else if (arg == "--fail-503") {
      if (!parse_fraction(value, &c.fail_503)) usage("--fail-503 takes 0..1");
    } else if (arg == "--max-bytes-per-second") {
      if (!parse_u64(value, &c.max_bytes_per_second)) usage("bad --max-bytes-per-second");
    } else if (arg == "--seed") {
      c.seed = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0') usage("bad --seed");
    } else if (arg == "--data-streams") {
      std::stringstream in(value);
      for (std::string p; std::getline(in, p, ',');) {
        if (!p.empty()) c.data_streams.push_back(p);
      }
    } else if (arg == "--tls-cert") {
      c.tls_cert = value;
    } else if (arg == "--tls-key") {
      c.tls_key = value;
    } else if (arg == "--basic") {
      if (value.find(':') == std::string::npos) usage("--basic takes USER:PASS");
      c.basic = value;
    } else if (arg == "--api-key") {
      c.api_key = value;
    } else {
      usage("unknown option " + arg);
    }
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) usage("--tls-cert and --tls-key go together");
  return c;
}

// Runs `fn` on the io_context thread and returns its answer line.
template <class Fn>
std::string on_io(asio::io_context& ioc, Fn fn) {
  std::promise<std::string> done;
  asio::post(ioc, [&] { done.set_value(fn()); });
  return done.get_future().get();
}

std::string run_command(asio::io_context& ioc, Server& server, const std::string& line,
                        bool* quit) {
  std::istringstream in(line);
  std::string cmd;
  std::string what;
  std::string value;
  in >> cmd >> what >> value;
  if (cmd == "quit") {
    *quit = true;
    return "ok";
  }
  if (cmd == "down") {
    return on_io(ioc, [&] {
      server.down();
      return std::string("ok down");
    });
  }
  if (cmd == "up") {
    return on_io(ioc, [&] {
      std::string error = server.listen();
      return error.empty() ? "ok up port=" + std::to_string(server.port()) : "error " + error;
    });
  }
  if (cmd == "set" && what == "max-bytes-per-second") {
    uint64_t rate = 0;
    std::string extra;
    if (!parse_u64(value, &rate) || (in >> extra)) {
      return "error usage: set max-bytes-per-second <bytes per second, 0 = unlimited>";
    }
    return on_io(ioc, [&] {
      server.set_max_bytes_per_second(rate);
      return "ok max-bytes-per-second=" + std::to_string(rate);
    });
  }
  if (cmd == "stats") return on_io(ioc, [&] { return "ok " + server.stats_json(); });
  if (cmd == "set" && (what == "reject-429" || what == "fail-503")) {
    double p = 0;
    if (!parse_fraction(value, &p)) return "error usage: set " + what + " <0..1>";
    return on_io(ioc, [&] {
      if (what == "reject-429") {
        server.set_reject_429(p);
      } else {
        server.set_fail_503(p);
      }
      return "ok " + what + "=" + value;
    });
  }
  return "error unknown command `" + line +
         "` (down, up, set reject-429|fail-503 F, "
         "set max-bytes-per-second N, stats, quit)";
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  Config config = parse_args(argc, argv);
  asio::io_context ioc(1);
  std::optional<Server> server;
  try {
    server.emplace(ioc, config);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sluice_es_emulator: TLS setup: %s\n", e.what());
    return 1;
  }
  if (std::string error = server->listen(); !error.empty()) {
    std::fprintf(stderr, "sluice_es_emulator: listen on 127.0.0.1:%u: %s\n", config.port,
                 error.c_str());
    return 1;
  }
  std::cout << "address=127.0.0.1:" << server->port() << std::endl;

  auto guard = asio::make_work_guard(ioc);
  std::thread io([&] { ioc.run(); });
  bool quit = false;
  for (std::string line; !quit && std::getline(std::cin, line);) {
    if (line.empty()) continue;
    std::cout << run_command(ioc, *server, line, &quit) << std::endl;
  }
  on_io(ioc, [&] {
    server->down();
    return std::string();
  });
  // Every socket is closed: the io_context runs out of work once the aborted operations have
  // completed, and no handler (holding a session) outlives the server.
  guard.reset();
  io.join();
  server.reset();
  return 0;
}
