// `sluice tap [COMPONENT...]`: a sample of the events flowing out of a running sluice's sources
// and transforms, from GET /tap on its metrics address (core/tap.hpp describes the stream).
// Events go to stdout (JSON lines, or text as `sluice tail` prints it); what the stream says
// about itself (what it taps, events it skipped) goes to stderr.
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>
#include <CLI/CLI.hpp>

#include "base/io.hpp"
#include "cli/commands.hpp"
#include "cli/metrics_target.hpp"
#include "core/process_signals.hpp"
#include "core/tap.hpp"

namespace sluice::cli {

namespace {

constexpr int kExitUsage = 64;        // EX_USAGE: an unknown component, a bad option
constexpr int kExitUnavailable = 69;  // EX_UNAVAILABLE: nothing listens, or no /tap there
constexpr int kExitTempFail = 75;     // EX_TEMPFAIL: every tap stream is taken
constexpr int kExitNoPerm = 77;       // EX_NOPERM: not a loopback client

std::string percent_encoded(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

// A connected socket to the target, or -1 with `error` (exit 69).
int connect_to(const MetricsTarget& target, std::string* error) {
  const HostPort& hp = target.host_port;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &found); rc != 0) {
    *error = "cannot resolve " + hp.host + ": " + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  int last_errno = 0;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      last_errno = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    *error = last_errno == ECONNREFUSED
                 ? "nothing listens on " + target.address + " (" + target.origin +
                       "; is sluice running? It serves tap on its metrics address, "
                       "SLUICE_METRICS_ADDR; give the same here, or --addr)"
                 : "cannot connect to " + target.address + ": " + std::strerror(last_errno);
  }
  return fd;
}

// Writes all of `data` to stdout; false once nobody reads it (`| head`).
bool write_stdout(std::string_view data) { return write_all(STDOUT_FILENO, data); }

// The response body, decoded from chunked transfer coding (or passed through when the server
// did not use it), handed on line by line.
class BodyLines {
 public:
  explicit BodyLines(bool chunked) : chunked_(chunked) {}

  // Appends received bytes; false when the chunked framing is broken.
  bool feed(std::string_view data) {
    if (!chunked_) {
      body_.append(data);
      return true;
    }
    raw_.append(data);
    for (;;) {
      if (chunk_left_ == 0) {
        const size_t eol = raw_.find("\r\n", pos_);
        if (eol == std::string::npos) break;
        if (after_chunk_) {  // the CRLF that closes a chunk's data
          if (eol != pos_) return false;
          after_chunk_ = false;
          pos_ = eol + 2;
          continue;
        }
        char* end = nullptr;
        const unsigned long size = std::strtoul(raw_.c_str() + pos_, &end, 16);
        if (end == raw_.c_str() + pos_) return false;
        pos_ = eol + 2;
        if (size == 0) {
          ended_ = true;
          break;
        }
        chunk_left_ = size;
      }
      const size_t take = std::min(chunk_left_, raw_.size() - pos_);
      if (take == 0) break;
      body_.append(raw_, pos_, take);
      pos_ += take;
      chunk_left_ -= take;
      if (chunk_left_ == 0) after_chunk_ = true;
    }
    raw_.erase(0, pos_);
    pos_ = 0;
    return true;
  }

  // The next complete line (without '\n') into `line`; false when none is complete yet.
  bool next(std::string* line) {
    const size_t eol = body_.find('\n', line_start_);
    if (eol == std::string::npos) {
      body_.erase(0, line_start_);
      line_start_ = 0;
      return false;
    }
    line->assign(body_, line_start_, eol - line_start_);
    line_start_ = eol + 1;
    return true;
  }

  [[nodiscard]] bool ended() const { return ended_; }

 private:
  const bool chunked_;
  std::string raw_;
  size_t pos_ = 0;
  size_t chunk_left_ = 0;
  bool after_chunk_ = false;
  bool ended_ = false;
  std::string body_;
  size_t line_start_ = 0;
};

// The JSON text of `value` as the line has it (this simdjson has raw_json() on objects and
// arrays only; a scalar's token may carry the whitespace after it).
simdjson::error_code raw_json_of(simdjson::ondemand::value& value, std::string_view* out) {
  simdjson::ondemand::json_type type;
  if (auto e = value.type().get(type)) return e;
  if (type == simdjson::ondemand::json_type::object) {
    simdjson::ondemand::object object;
    if (auto e = value.get_object().get(object)) return e;
    return object.raw_json().get(*out);
  }
  if (type == simdjson::ondemand::json_type::array) {
    simdjson::ondemand::array array;
    if (auto e = value.get_array().get(array)) return e;
    return array.raw_json().get(*out);
  }
  *out = value.raw_json_token();
  while (!out->empty() && std::isspace(static_cast<unsigned char>(out->back()))) {
    out->remove_suffix(1);
  }
  return simdjson::SUCCESS;
}

// Prints the stream's lines: events to stdout, notices to stderr.
class TapPrinter {
 public:
  TapPrinter(const TapArgs& args, bool text) : args_(args), text_(text) {}

  enum class Outcome { More, LimitReached, OutputClosed, BadLine };

  Outcome print(const std::string& line) {
    simdjson::padded_string padded(line);
    simdjson::ondemand::document doc;
    simdjson::ondemand::object object;
    if (parser_.iterate(padded).get(doc) || doc.get_object().get(object)) return Outcome::BadLine;
    std::string_view component, event, text, notice;
    for (auto field : object) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return Outcome::BadLine;
      simdjson::ondemand::value value;
      if (field.value().get(value)) return Outcome::BadLine;
      // Each view is used before the next field is read: unescaped strings live in the parser.
      if (key == "component") {
        if (value.get_string().get(component)) return Outcome::BadLine;
        component_.assign(component);
      } else if (key == "event") {
        if (raw_json_of(value, &event)) return Outcome::BadLine;
        out_.assign(event);
      } else if (key == "text") {
        if (value.get_string().get(text)) return Outcome::BadLine;
        out_.assign(text);
      } else if (key == "notice") {
        if (value.get_string().get(notice)) return Outcome::BadLine;
        notice_.assign(notice);
      } else {
        const std::string name(key);
        std::string_view raw;
        if (raw_json_of(value, &raw)) return Outcome::BadLine;
        fields_.emplace_back(name, std::string(raw));
      }
    }
    if (!notice_.empty()) {
      // Text lines say where they came from when the stream carries several components.
      if (notice_ == "tapping") several_ = field("components").find(',') != std::string::npos;
      report_notice();
      notice_.clear();
      fields_.clear();
      return Outcome::More;
    }
    if (text_ && several_) out_.insert(0, "[" + component_ + "] ");
    out_.push_back('\n');
    if (!write_stdout(out_)) return Outcome::OutputClosed;
    ++events_printed_;
    return args_.limit && events_printed_ >= *args_.limit ? Outcome::LimitReached : Outcome::More;
  }

 private:
  // A notice's other member, as JSON text ("" when absent).
  std::string field(std::string_view name) const {
    for (const auto& [key, raw] : fields_) {
      if (key == name) return raw;
    }
    return "";
  }

  void report_notice() {
    if (args_.quiet) return;
    if (notice_ == "tapping") {
      std::string names = field("components");  // a JSON array of names: shown plainly
      std::erase(names, '"');
      for (size_t at = names.find(','); at != std::string::npos; at = names.find(',', at + 2)) {
        names.insert(at + 1, " ");
      }
      if (names.size() >= 2) names = names.substr(1, names.size() - 2);
      std::cerr << "sluice tap: tapping " << names << " (at most " << field("rate")
                << " events/s; Ctrl-C to stop)\n";
    } else if (notice_ == "skipped") {
      std::cerr << "sluice tap: skipped " << field("events") << " events (" << field("rate_limit")
                << " over the rate, " << field("slow_reader") << " while this reader was behind)\n";
    }
  }

  const TapArgs& args_;
  const bool text_;
  simdjson::ondemand::parser parser_;
  std::string component_, out_, notice_;
  std::vector<std::pair<std::string, std::string>> fields_;  // a notice's other members
  bool several_ = true;  // whether the opening notice named several components
  uint64_t events_printed_ = 0;
};

struct ResponseHead {
  int status = 0;
  bool chunked = false;
  size_t content_length = 0;
};

bool parse_head(std::string_view head, ResponseHead* out) {
  if (head.size() < 12 || head.substr(0, 5) != "HTTP/") return false;
  out->status = std::atoi(std::string(head.substr(9, 3)).c_str());
  std::string lower(head);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  out->chunked = lower.find("\r\ntransfer-encoding: chunked") != std::string::npos;
  if (const size_t at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
    out->content_length = std::strtoul(lower.c_str() + at + 17, nullptr, 10);
  }
  return out->status != 0;
}

// A refusal's body, said plainly; returns the exit code.
int report_refusal(int status, const std::string& body, const std::string& address) {
  std::string message = body;
  while (!message.empty() && message.back() == '\n') message.pop_back();
  if (status == 404 && body.find("\"unknown\"") != std::string::npos) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (!parser.parse(body).get(doc)) {
      std::string unknown, known;
      for (auto name : doc["unknown"].get_array()) {
        unknown += (unknown.empty() ? "" : ", ") + std::string(name.get_string().value_unsafe());
      }
      for (auto c : doc["components"].get_array()) {
        known += (known.empty() ? "" : ", ") + std::string(c["name"].get_string().value_unsafe()) +
                 " (" + std::string(c["kind"].get_string().value_unsafe()) + ")";
      }
      std::cerr << "sluice tap: no source or transform named " << unknown
                << "; the running config has: " << known << "\n";
      return kExitUsage;
    }
  }
  if (status == 404) {
    std::cerr << "sluice tap: " << address
              << " does not serve /tap (a sluice older than `sluice tap`?)\n";
    return kExitUnavailable;
  }
  std::cerr << "sluice tap: " << address << " answered " << status << ": " << message << "\n";
  if (status == 403) return kExitNoPerm;
  if (status == 503) return kExitTempFail;
  return status == 400 ? kExitUsage : kExitUnavailable;
}

bool color_wanted(const std::string& when) {
  if (when == "always") return true;
  if (when == "never") return false;
  const char* no_color = std::getenv("NO_COLOR");
  return ::isatty(STDOUT_FILENO) && (no_color == nullptr || *no_color == '\0');
}

}  // namespace

CLI::App* add_tap_subcommand(CLI::App& app, TapArgs& args) {
  CLI::App* tap = app.add_subcommand(
      "tap",
      "Show a sample of the events flowing out of a running sluice's sources and transforms");
  tap->add_option("components", args.components,
                  "Sources and transforms to tap, by name (default: all of them)")
      ->type_name("COMPONENT");
  tap->add_option("--addr", args.addr,
                  "The running sluice's metrics address (default $SLUICE_METRICS_ADDR, else "
                  "127.0.0.1:9598)")
      ->type_name("HOST:PORT");
  tap->add_option("--format", args.format,
                  "json (the event as a JSON sink writes it) or text (as `sluice tail` prints it); "
                  "default: text on a terminal, else json")
      ->check(CLI::IsMember({"json", "text"}))
      ->type_name("FORMAT");
  tap->add_option("--rate", args.rate,
                  "At most this many events a second (default 100); those over it are skipped, "
                  "and counted on stderr")
      ->check(CLI::Range(1u, kMaxTapRate))
      ->type_name("N");
  tap->add_option("--limit", args.limit, "Exit after N events")->type_name("N");
  tap->add_option("--color", args.color,
                  "Colour text output: auto (a terminal without NO_COLOR), always, never")
      ->type_name("WHEN")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  tap->add_flag("-q,--quiet", args.quiet, "Print events only, no notices on stderr");
  tap->footer(R"(Examples:
  sluice tap                                   a sample of everything, as it flows
  sluice tap app --limit 20 --format json      20 events out of source `app`, as JSON lines
  sluice tap parse errors_only | jq .event     the output of two transforms
  SLUICE_METRICS_ADDR=127.0.0.1:9700 sluice tap    a sluice with its metrics elsewhere

An event is tapped after the component's output: a source's after parsing, a transform's after
it ran. Each JSON line is {"component":NAME,"event":EVENT}. Tapping never slows the pipeline:
events over --rate, or while this reader is behind, are skipped and counted on stderr. Only a
client on the same host (loopback) is answered; at most 4 taps at a time.
Ctrl-C exits 0; a closed output (| head) too. Exit 64: unknown component; 69: nothing listens;
75: every tap stream is taken; 77: not a loopback client.)");
  return tap;
}

int tap_command(const TapArgs& args) {
  std::string error;
  std::optional<MetricsTarget> target = resolve_metrics_target(args.addr, "tap", &error);
  if (!target) {
    std::cerr << "sluice tap: " << error << "\n";
    return kExitUsage;
  }
  const std::string& address = target->address;
  const bool text = args.format ? *args.format == "text" : ::isatty(STDOUT_FILENO) != 0;
  const int fd = connect_to(*target, &error);
  if (fd < 0) {
    std::cerr << "sluice tap: " << error << "\n";
    return kExitUnavailable;
  }
  std::string names;
  for (const std::string& c : args.components) names += (names.empty() ? "" : ",") + c;
  std::string request = "GET /tap?rate=" + std::to_string(args.rate);
  if (!names.empty()) request += "&components=" + percent_encoded(names);
  if (text) request += color_wanted(args.color) ? "&format=text&color=1" : "&format=text";
  request += " HTTP/1.1\r\nHost: " + target->host_port.host + ":" + target->host_port.port +
             "\r\nUser-Agent: sluice-tap\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    std::cerr << "sluice tap: cannot send to " << address << ": " << std::strerror(errno) << "\n";
    ::close(fd);
    return kExitUnavailable;
  }

  SignalWatcher signals;  // Ctrl-C and TERM arrive here (main blocks them in every thread)
  TapPrinter printer(args, text);
  std::string received;
  std::optional<ResponseHead> head;
  std::optional<BodyLines> body;
  std::string line;
  int exit_code = 0;
  char chunk[16 * 1024];
  for (;;) {
    // stdout with no events asked: poll reports its reader gone (POLLERR) or a hang-up.
    pollfd fds[3] = {{fd, POLLIN, 0}, {signals.fd(), POLLIN, 0}, {STDOUT_FILENO, 0, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0 && signals.next() != 0) break;  // Ctrl-C: a normal end
    if ((fds[2].revents & (POLLERR | POLLHUP)) != 0) break;
    if (fds[0].revents == 0) continue;
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      if (!head) {
        std::cerr << "sluice tap: " << address << " closed the connection without answering\n";
        exit_code = kExitUnavailable;
      } else if (!args.quiet && body && !body->ended()) {
        std::cerr << "sluice tap: the stream ended (sluice stopped)\n";
      }
      break;
    }
    if (!head) {
      received.append(chunk, static_cast<size_t>(n));
      const size_t end = received.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      head.emplace();
      if (!parse_head(std::string_view(received).substr(0, end + 2), &*head)) {
        std::cerr << "sluice tap: " << address << " does not answer HTTP\n";
        exit_code = kExitUnavailable;
        break;
      }
      received.erase(0, end + 4);
      if (head->status != 200) {
        // A refusal is small and complete: read the rest of its body, then say why.
        while (received.size() < head->content_length) {
          const ssize_t m = ::recv(fd, chunk, sizeof chunk, 0);
          if (m <= 0) break;
          received.append(chunk, static_cast<size_t>(m));
        }
        exit_code = report_refusal(head->status, received, address);
        break;
      }
      body.emplace(head->chunked);
      if (!body->feed(received)) break;
    } else if (!body->feed(std::string_view(chunk, static_cast<size_t>(n)))) {
      std::cerr << "sluice tap: the stream's framing is broken\n";
      exit_code = kExitUnavailable;
      break;
    }
    TapPrinter::Outcome outcome = TapPrinter::Outcome::More;
    while (outcome == TapPrinter::Outcome::More && body->next(&line)) {
      outcome = printer.print(line);
    }
    if (outcome == TapPrinter::Outcome::BadLine) {
      std::cerr << "sluice tap: cannot read the stream's line: " << line << "\n";
      exit_code = kExitUnavailable;
    }
    if (outcome != TapPrinter::Outcome::More) break;
  }
  ::close(fd);
  return exit_code;
}

}  // namespace sluice::cli
