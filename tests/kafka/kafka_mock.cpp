// sluice_kafka_mock: a librdkafka mock cluster (real Kafka protocol over loopback TCP) for the
// end-to-end tests and the benchmark, driven line by line over stdin.
//
//   sluice_kafka_mock [--brokers N] [--topic name:partitions]...
//
// The first line on stdout is `bootstrap=<host:port,...>`. Then one command per stdin line,
// answered with `ok` or `error <message>` on stdout:
//   down <broker_id> | up <broker_id>       take a broker down (connections refused) / back up
//   create <topic> <partitions> [replication]
//   topic-error <topic> <error_code>        metadata for the topic answers with this error
//                                           (0 clears it; e.g. 29 TOPIC_AUTHORIZATION_FAILED)
//   produce-errors <error_code>...          the next Produce requests fail with these errors,
//                                           one per request (e.g. 10 MSG_SIZE_TOO_LARGE,
//                                           7 REQUEST_TIMED_OUT)
//   rtt <broker_id> <ms>                    add latency to a broker's responses
//   quit                                    (end of input too)
// Broker ids are 1..N; partition p of a topic is led by broker p % N + 1 (with full replication).
// Leadership does not move when a broker is down: the partitions it leads are unavailable until
// it is up again (what the tests want: an outage, not a fail-over).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct TopicSpec {
  std::string name;
  int partitions = 1;
};

[[noreturn]] void usage(const char* message) {
  std::fprintf(stderr,
               "sluice_kafka_mock: %s\n"
               "usage: sluice_kafka_mock [--brokers N] [--topic name:partitions]...\n",
               message);
  std::exit(2);
}

bool parse_int(const std::string& text, long min, long max, long* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (*end != '\0' || v < min || v > max) return false;
  *out = v;
  return true;
}

std::string err_text(rd_kafka_resp_err_t err) {
  return std::string(rd_kafka_err2name(err)) + ": " + rd_kafka_err2str(err);
}

// Creates a topic whose partition p is led by broker p % brokers + 1. The mock would pick leaders
// at random, and then `down 1` could leave every partition of a topic available (a test that
// takes a broker down must know which partitions it stops).
rd_kafka_resp_err_t create_topic(rd_kafka_mock_cluster_t* cluster, const std::string& name,
                                 int partitions, int replication, int brokers) {
  rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(cluster, name.c_str(), partitions, replication);
  if (err || replication != brokers) return err;  // leaders must be replicas
  for (int p = 0; p < partitions && !err; ++p) {
    err = rd_kafka_mock_partition_set_leader(cluster, name.c_str(), p, p % brokers + 1);
  }
  return err;
}

// One command line → the answer line (without the newline). Sets `quit` on `quit`.
std::string run_command(rd_kafka_mock_cluster_t* cluster, int brokers, const std::string& line,
                        bool* quit) {
  std::istringstream in(line);
  std::string cmd;
  in >> cmd;
  std::vector<std::string> args;
  for (std::string a; in >> a;) args.push_back(a);
  long n = 0;
  long m = 0;
  if (cmd.empty()) return "error empty command";
  if (cmd == "quit") {
    *quit = true;
    return "ok";
  }
  if (cmd == "down" || cmd == "up") {
    if (args.size() != 1 || !parse_int(args[0], 1, brokers, &n)) {
      return "error usage: " + cmd + " <broker_id 1.." + std::to_string(brokers) + ">";
    }
    auto id = static_cast<int32_t>(n);
    rd_kafka_resp_err_t err = cmd == "down" ? rd_kafka_mock_broker_set_down(cluster, id)
                                            : rd_kafka_mock_broker_set_up(cluster, id);
    return err ? "error " + err_text(err) : "ok";
  }
  if (cmd == "create") {
    long replication = std::min(3, brokers);
    if (args.size() < 2 || args.size() > 3 || !parse_int(args[1], 1, 10000, &n) ||
        (args.size() == 3 && !parse_int(args[2], 1, brokers, &replication))) {
      return "error usage: create <topic> <partitions> [replication]";
    }
    rd_kafka_resp_err_t err =
        create_topic(cluster, args[0], static_cast<int>(n), static_cast<int>(replication), brokers);
    return err ? "error " + err_text(err) : "ok";
  }
  if (cmd == "topic-error") {
    if (args.size() != 2 || !parse_int(args[1], -200, 1000, &n)) {
      return "error usage: topic-error <topic> <error_code>";
    }
    rd_kafka_mock_topic_set_error(cluster, args[0].c_str(), static_cast<rd_kafka_resp_err_t>(n));
    return "ok";
  }
  if (cmd == "produce-errors") {
    std::vector<rd_kafka_resp_err_t> errors;
    for (const auto& a : args) {
      if (!parse_int(a, -200, 1000, &n)) return "error usage: produce-errors <error_code>...";
      errors.push_back(static_cast<rd_kafka_resp_err_t>(n));
    }
    if (errors.empty()) return "error usage: produce-errors <error_code>...";
    constexpr int16_t kProduceApiKey = 0;
    rd_kafka_mock_push_request_errors_array(cluster, kProduceApiKey, errors.size(), errors.data());
    return "ok";
  }
  if (cmd == "rtt") {
    if (args.size() != 2 || !parse_int(args[0], 1, brokers, &n) ||
        !parse_int(args[1], 0, 600000, &m)) {
      return "error usage: rtt <broker_id> <ms>";
    }
    rd_kafka_resp_err_t err =
        rd_kafka_mock_broker_set_rtt(cluster, static_cast<int32_t>(n), static_cast<int>(m));
    return err ? "error " + err_text(err) : "ok";
  }
  return "error unknown command `" + cmd +
         "` (down, up, create, topic-error, produce-errors, rtt, quit)";
}

}  // namespace

int main(int argc, char** argv) {
  long brokers = 3;
  std::vector<TopicSpec> topics;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
    std::string value = argv[++i];
    if (arg == "--brokers") {
      if (!parse_int(value, 1, 32, &brokers)) usage("--brokers must be 1..32");
    } else if (arg == "--topic") {
      size_t colon = value.rfind(':');
      long partitions = 0;
      if (colon == std::string::npos || colon == 0 ||
          !parse_int(value.substr(colon + 1), 1, 10000, &partitions)) {
        usage("--topic takes name:partitions");
      }
      topics.push_back({value.substr(0, colon), static_cast<int>(partitions)});
    } else {
      usage(("unknown option " + arg).c_str());
    }
  }

  // The mock cluster lives inside a client instance; a producer is the lightest kind.
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    std::fprintf(stderr, "sluice_kafka_mock: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, static_cast<int>(brokers));
  if (cluster == nullptr) {
    std::fprintf(stderr, "sluice_kafka_mock: could not start the mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  int replication = static_cast<int>(std::min(3L, brokers));
  for (const auto& t : topics) {
    rd_kafka_resp_err_t err =
        create_topic(cluster, t.name, t.partitions, replication, static_cast<int>(brokers));
    if (err) {
      std::fprintf(stderr, "sluice_kafka_mock: create %s: %s\n", t.name.c_str(),
                   err_text(err).c_str());
      return 1;
    }
  }
  std::cout << "bootstrap=" << rd_kafka_mock_cluster_bootstraps(cluster) << std::endl;

  bool quit = false;
  for (std::string line; !quit && std::getline(std::cin, line);) {
    std::cout << run_command(cluster, static_cast<int>(brokers), line, &quit) << std::endl;
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
