// sluice_kafka_tool: a plain librdkafka producer and consumer for the tests and the benchmark,
// independent of sluice's own Kafka code (it checks that code from outside).
//
//   sluice_kafka_tool produce --brokers B --topic T [--count N] [--keys K] [--size BYTES]
//                             [--header name=value]... [--timestamp MS] [--compression C]
//                             [--spread]
//     Without --count: one message per stdin line (without the '\n'). With --count: N JSON
//     lines {"seq":i,"msg":"..."} (padded to about BYTES, default 100). --keys K: key `k<i % K>`
//     (without it: no key). --spread: keyless messages go to the partitions in turn, 500 at a
//     time (even and batched). Waits for every delivery report; prints `produced=N failed=F` on
//     stderr and exits 1 when any failed.
//
//   sluice_kafka_tool consume --brokers B --topic T --expect N [--timeout S] [--group G]
//     Prints one JSON object per message: {"topic","partition","offset","key","value",
//     "headers":{name:value},"timestamp"} (key/header values null when absent; bytes that are
//     not UTF-8 become U+FFFD). Without --group every partition is assigned from the beginning
//     (fast, no group protocol); with --group it subscribes with auto.offset.reset=earliest.
//     Exits 0 once at least N messages were read and every partition is at its end (so extra
//     messages are printed too and a caller can count them), 1 on timeout (default 30 s).
//
//   sluice_kafka_tool count --brokers B --topic T [--timeout S] [--held]
//     Prints the number of messages written to the topic (the sum of the partitions' high
//     watermarks): a cheap exact check after millions of messages. With --held: the messages
//     it still holds (high minus low watermark; the mock cluster keeps a few MiB per partition
//     and drops older messages).
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/json_writer.hpp"
#include "sluice/byte_buffer.hpp"

namespace {

struct Options {
  std::string command;
  std::string brokers;
  std::string topic;
  long count = -1;
  long keys = 0;
  long size = 100;
  long expect = -1;
  double timeout_s = 30;
  std::string group;
  std::string compression = "none";
  long long timestamp_ms = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  bool held = false;    // count: messages held, not written
  bool spread = false;  // produce: keyless runs over every partition in turn
};

[[noreturn]] void usage(const std::string& message) {
  std::fprintf(stderr,
               "sluice_kafka_tool: %s\n"
               "usage: sluice_kafka_tool produce --brokers B --topic T [--count N] [--keys K]\n"
               "                         [--size BYTES] [--header name=value]... [--timestamp MS]\n"
               "                         [--compression C] [--spread]\n"
               "       sluice_kafka_tool consume --brokers B --topic T --expect N [--timeout S]\n"
               "                         [--group G]\n"
               "       sluice_kafka_tool count --brokers B --topic T [--timeout S] [--held]\n",
               message.c_str());
  std::exit(2);
}

long to_long(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < 0) usage(flag + " takes a non-negative integer");
  return n;
}

Options parse(int argc, char** argv) {
  if (argc < 2) usage("missing command");
  Options o;
  o.command = argv[1];
  if (o.command != "produce" && o.command != "consume" && o.command != "count") {
    usage("unknown command " + o.command);
  }
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--held" || flag == "--spread") {
      (flag == "--held" ? o.held : o.spread) = true;
      continue;
    }
    if (i + 1 >= argc) usage("missing value after " + flag);
    std::string v = argv[++i];
    if (flag == "--brokers") {
      o.brokers = v;
    } else if (flag == "--topic") {
      o.topic = v;
    } else if (flag == "--count") {
      o.count = to_long(flag, v);
    } else if (flag == "--keys") {
      o.keys = to_long(flag, v);
    } else if (flag == "--size") {
      o.size = to_long(flag, v);
    } else if (flag == "--expect") {
      o.expect = to_long(flag, v);
    } else if (flag == "--timeout") {
      o.timeout_s = std::strtod(v.c_str(), nullptr);
      if (o.timeout_s <= 0) usage("--timeout takes a positive number of seconds");
    } else if (flag == "--group") {
      o.group = v;
    } else if (flag == "--compression") {
      o.compression = v;
    } else if (flag == "--timestamp") {
      o.timestamp_ms = to_long(flag, v);
    } else if (flag == "--header") {
      size_t eq = v.find('=');
      if (eq == std::string::npos) usage("--header takes name=value");
      o.headers.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else {
      usage("unknown option " + flag);
    }
  }
  if (o.brokers.empty() || o.topic.empty()) usage("--brokers and --topic are required");
  if (o.command == "consume" && o.expect < 0) usage("consume needs --expect N");
  return o;
}

rd_kafka_conf_t* base_conf(const Options& o) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  auto set = [&](const char* k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      usage(std::string(k) + ": " + errstr);
    }
  };
  set("bootstrap.servers", o.brokers);
  set("log_level", "3");
  if (o.command == "produce") {
    set("compression.codec", o.compression);
    set("linger.ms", "5");
    set("enable.idempotence", "true");
  } else {
    set("group.id", o.group.empty() ? "sluice-kafka-tool" : o.group);
    set("auto.offset.reset", "earliest");
    set("enable.auto.commit", o.group.empty() ? "false" : "true");
    set("enable.partition.eof", "true");
  }
  return conf;
}

// --- produce ------------------------------------------------------------------------------------

long g_failed = 0;
long g_delivered = 0;

void on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m, void* /*opaque*/) {
  if (m->err) {
    if (g_failed++ < 5) {
      std::fprintf(stderr, "sluice_kafka_tool: delivery failed: %s\n", rd_kafka_err2str(m->err));
    }
  } else {
    ++g_delivered;
  }
}

int produce(const Options& o) {
  rd_kafka_conf_t* conf = base_conf(o);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) usage(std::string("rd_kafka_new: ") + errstr);
  // --spread: runs of kSpreadRun messages go to each partition in turn, so every partition
  // gets its share (the mock cluster keeps only a few MiB per partition and drops the start of
  // a long sticky run) and is still written in batches, as a real producer would.
  constexpr long kSpreadRun = 500;
  int32_t partitions = 0;
  if (o.spread) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        md->topic_cnt == 1) {
      partitions = md->topics[0].partition_cnt;
    }
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    if (partitions <= 0) usage("--spread: the topic's partition count is unknown");
  }

  long produced = 0;
  std::string value;
  std::string key;
  auto send = [&](long i) {
    std::vector<rd_kafka_vu_t> vu;
    vu.push_back({RD_KAFKA_VTYPE_TOPIC, {.cstr = o.topic.c_str()}});
    rd_kafka_vu_t v{RD_KAFKA_VTYPE_VALUE, {}};
    v.u.mem = {value.data(), value.size()};
    vu.push_back(v);
    vu.push_back({RD_KAFKA_VTYPE_MSGFLAGS, {.i = RD_KAFKA_MSG_F_COPY}});
    if (partitions > 0) {
      vu.push_back(
          {RD_KAFKA_VTYPE_PARTITION, {.i32 = static_cast<int32_t>((i / kSpreadRun) % partitions)}});
    }
    if (o.keys > 0) {
      key = "k" + std::to_string(i % o.keys);
      rd_kafka_vu_t k{RD_KAFKA_VTYPE_KEY, {}};
      k.u.mem = {key.data(), key.size()};
      vu.push_back(k);
    }
    if (o.timestamp_ms > 0) vu.push_back({RD_KAFKA_VTYPE_TIMESTAMP, {.i64 = o.timestamp_ms}});
    for (const auto& [name, hv] : o.headers) {
      rd_kafka_vu_t h{RD_KAFKA_VTYPE_HEADER, {}};
      h.u.header = {name.c_str(), hv.data(), static_cast<ssize_t>(hv.size())};
      vu.push_back(h);
    }
    while (true) {
      rd_kafka_error_t* error = rd_kafka_produceva(rk, vu.data(), vu.size());
      if (error == nullptr) break;
      rd_kafka_resp_err_t code = rd_kafka_error_code(error);
      std::string text = rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
      if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::fprintf(stderr, "sluice_kafka_tool: produce: %s\n", text.c_str());
        ++g_failed;
        return;
      }
      rd_kafka_poll(rk, 50);
    }
    ++produced;
    rd_kafka_poll(rk, 0);
  };

  if (o.count >= 0) {
    for (long i = 0; i < o.count; ++i) {
      value = "{\"seq\":" + std::to_string(i) + ",\"msg\":\"message " + std::to_string(i);
      if (static_cast<long>(value.size()) + 2 < o.size)
        value.append(o.size - value.size() - 2, 'x');
      value += "\"}";
      send(i);
    }
  } else {
    long i = 0;
    while (std::getline(std::cin, value)) send(i++);
  }
  rd_kafka_resp_err_t err = rd_kafka_flush(rk, 60000);
  if (err) std::fprintf(stderr, "sluice_kafka_tool: flush: %s\n", rd_kafka_err2str(err));
  long outstanding = rd_kafka_outq_len(rk);
  rd_kafka_destroy(rk);
  std::fprintf(stderr, "produced=%ld failed=%ld\n", g_delivered, g_failed + outstanding);
  return g_failed == 0 && outstanding == 0 ? 0 : 1;
}

// --- consume ------------------------------------------------------------------------------------

void print_message(const rd_kafka_message_t* m, sluice::ByteBuffer& out) {
  out.clear();
  out.append("{\"topic\":");
  sluice::append_json_string(out, rd_kafka_topic_name(m->rkt));
  out.append(",\"partition\":" + std::to_string(m->partition));
  out.append(",\"offset\":" + std::to_string(m->offset));
  out.append(",\"key\":");
  if (m->key) {
    sluice::append_json_string(out, {static_cast<const char*>(m->key), m->key_len});
  } else {
    out.append("null");
  }
  out.append(",\"value\":");
  if (m->payload) {
    sluice::append_json_string(out, {static_cast<const char*>(m->payload), m->len});
  } else {
    out.append("null");
  }
  out.append(",\"headers\":{");
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == 0; ++i) {
      if (i > 0) out.push_back(',');
      sluice::append_json_string(out, name);
      out.push_back(':');
      if (value) {
        sluice::append_json_string(out, {static_cast<const char*>(value), size});
      } else {
        out.append("null");
      }
    }
  }
  rd_kafka_timestamp_type_t ts_type;
  int64_t ts = rd_kafka_message_timestamp(m, &ts_type);
  out.append("},\"timestamp\":" + std::to_string(ts) + "}\n");
  std::fwrite(out.data(), 1, out.size(), stdout);
}

int consume(const Options& o) {
  rd_kafka_conf_t* conf = base_conf(o);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (rk == nullptr) usage(std::string("rd_kafka_new: ") + errstr);
  rd_kafka_poll_set_consumer(rk);
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<long>(o.timeout_s * 1000));

  // Partitions known so far (from metadata, or the group's assignment) and those at their end.
  std::set<int32_t> partitions;
  std::set<int32_t> at_end;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, o.topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (o.group.empty()) {
    // Assign every partition: wait for the topic's metadata (it may be created meanwhile).
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
    while (partitions.empty() && std::chrono::steady_clock::now() < deadline) {
      const rd_kafka_metadata_t* md = nullptr;
      if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int t = 0; t < md->topic_cnt; ++t) {
          if (md->topics[t].err) continue;
          for (int p = 0; p < md->topics[t].partition_cnt; ++p) {
            partitions.insert(md->topics[t].partitions[p].id);
          }
        }
        rd_kafka_metadata_destroy(md);
      }
      if (partitions.empty()) rd_kafka_poll(rk, 200);
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_topic_partition_list_destroy(list);
    list = rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
    for (int32_t p : partitions) {
      rd_kafka_topic_partition_list_add(list, o.topic.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    }
    err = rd_kafka_assign(rk, list);
  } else {
    err = rd_kafka_subscribe(rk, list);
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (err) {
    std::fprintf(stderr, "sluice_kafka_tool: assign/subscribe: %s\n", rd_kafka_err2str(err));
    rd_kafka_destroy(rk);
    return 1;
  }

  long read = 0;
  sluice::ByteBuffer out;
  bool finished = false;
  while (!finished && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      partitions.insert(m->partition);
      at_end.insert(m->partition);
    } else if (m->err) {
      std::fprintf(stderr, "sluice_kafka_tool: consume: %s\n", rd_kafka_message_errstr(m));
    } else {
      partitions.insert(m->partition);
      at_end.erase(m->partition);
      print_message(m, out);
      ++read;
    }
    rd_kafka_message_destroy(m);
    finished = read >= o.expect && !partitions.empty() && at_end.size() == partitions.size();
  }
  std::fflush(stdout);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (!finished) {
    std::fprintf(stderr, "sluice_kafka_tool: timeout: read %ld of %ld messages\n", read, o.expect);
    return 1;
  }
  return 0;
}

// --- count --------------------------------------------------------------------------------------

int count(const Options& o) {
  rd_kafka_conf_t* conf = base_conf(o);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (rk == nullptr) usage(std::string("rd_kafka_new: ") + errstr);
  auto timeout_ms = static_cast<int>(o.timeout_s * 1000);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
  long long total = 0;
  if (!err && (md->topic_cnt != 1 || md->topics[0].err)) {
    err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
  }
  for (int p = 0; !err && p < md->topics[0].partition_cnt; ++p) {
    int64_t low = 0;
    int64_t high = 0;
    err = rd_kafka_query_watermark_offsets(rk, o.topic.c_str(), md->topics[0].partitions[p].id,
                                           &low, &high, timeout_ms);
    total += o.held ? high - low : high;
  }
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  if (err) {
    std::fprintf(stderr, "sluice_kafka_tool: count: %s\n", rd_kafka_err2str(err));
    return 1;
  }
  std::printf("%lld\n", total);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  if (o.command == "count") return count(o);
  return o.command == "produce" ? produce(o) : consume(o);
}
