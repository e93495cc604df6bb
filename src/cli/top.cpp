// `sluice top`: a live view of a running sluice, read from its /metrics (Prometheus text):
// scrape every interval, compute rates against the previous scrape (cli/top_model.hpp), draw
// (cli/top_view.hpp) in place on a terminal, as plain tables on a pipe, or as JSON lines.
// One thread of ours: it polls the scrape's completion, the keyboard and a signalfd.
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "base/clock.hpp"
#include "base/duration.hpp"
#include "base/io.hpp"
#include "base/log.hpp"
#include "cli/commands.hpp"
#include "cli/metrics_target.hpp"
#include "cli/top_model.hpp"
#include "cli/top_view.hpp"
#include "net/http_client.hpp"
#include "server/prometheus_parser.hpp"

namespace sluice::cli {

namespace {

constexpr int kExitUsage = 64;        // EX_USAGE
constexpr int kExitUnavailable = 69;  // EX_UNAVAILABLE: nothing (or no sluice) answers there
constexpr int64_t kMinIntervalNs = 100'000'000;
constexpr int64_t kMaxIntervalNs = 3'600'000'000'000;
// A metrics page is a few hundred KiB at most (per-file series are capped per source); a
// larger answer is not a sluice's.
constexpr uint64_t kMaxPageBytes = 32ULL << 20;

struct ScrapeResult {
  std::optional<Scrape> scrape;  // unset: `error` says why
  std::string error;
};

// GET /metrics through the shared HTTP client; the completion wakes an eventfd, so the main
// loop can wait for it next to the keyboard and the signals.
class Scraper {
 public:
  static std::unique_ptr<Scraper> create(const MetricsTarget& target, int64_t timeout_ns,
                                         std::string* error) {
    net::HttpClientOptions options;
    net::Endpoint endpoint;
    endpoint.url = target.url;
    endpoint.host = target.host_port.host;
    endpoint.port = target.host_port.port;
    options.endpoints = {endpoint};
    options.timeout_ns = timeout_ns;
    options.max_idle_connections = 1;
    options.max_response_body_bytes = kMaxPageBytes;
    options.name = "top";
    options.thread_name = "sluice-top";
    // One endpoint: never skip it after a failure, top's own loop decides when to retry.
    options.endpoint_pause_min_ns = 0;
    options.endpoint_pause_max_ns = 0;
    auto scraper = std::unique_ptr<Scraper>(new Scraper());
    if (scraper->wake_ < 0) {
      *error = fmt::format("eventfd: {}", std::strerror(errno));
      return nullptr;
    }
    scraper->client_ = net::HttpClient::create(std::move(options), error);
    if (!scraper->client_) return nullptr;
    return scraper;
  }
  ~Scraper() {
    if (client_) client_->stop();
    if (wake_ >= 0) ::close(wake_);
  }
  Scraper(const Scraper&) = delete;
  Scraper& operator=(const Scraper&) = delete;

  [[nodiscard]] int fd() const { return wake_; }

  void start() {
    net::HttpRequest request;
    request.method = "GET";
    request.target = "/metrics";
    client_->send(std::move(request), [this](net::HttpResult result) {
      ScrapeResult done = interpret(std::move(result));
      {
        std::lock_guard lock(mutex_);
        result_ = std::move(done);
      }
      uint64_t one = 1;
      (void)!::write(wake_, &one, sizeof one);
    });
  }

  // The finished scrape, once fd() is readable.
  std::optional<ScrapeResult> take() {
    uint64_t count = 0;
    (void)!::read(wake_, &count, sizeof count);
    std::lock_guard lock(mutex_);
    return std::exchange(result_, std::nullopt);
  }

 private:
  Scraper() : wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

  static ScrapeResult interpret(net::HttpResult result) {
    ScrapeResult out;
    if (!result.responded) {
      out.error = result.error;
      return out;
    }
    if (result.status != 200) {
      out.error = fmt::format("GET /metrics answered HTTP {}: is it a sluice's metrics address?",
                              result.status);
      return out;
    }
    Scrape scrape;
    scrape.taken_ns = monotonic_ns();
    scrape.samples = parse_prometheus_text(result.body).samples;
    if (!is_sluice_page(scrape)) {
      out.error = "GET /metrics answered, but not with a sluice's metrics (no sluice_build_info)";
      return out;
    }
    out.scrape = std::move(scrape);
    return out;
  }

  int wake_;
  std::unique_ptr<net::HttpClient> client_;
  std::mutex mutex_;
  std::optional<ScrapeResult> result_;
};

// INT, TERM and HUP are blocked in every thread already (main); WINCH (window resized), TSTP
// (Ctrl-Z) and CONT are blocked here, before the HTTP client's thread starts, so that all of
// them arrive on this signalfd.
class Signals {
 public:
  Signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGWINCH, SIGTSTP, SIGCONT}) sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, sig);
    fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  }
  ~Signals() {
    if (fd_ >= 0) ::close(fd_);
  }
  Signals(const Signals&) = delete;
  Signals& operator=(const Signals&) = delete;

  [[nodiscard]] int fd() const { return fd_; }
  int next() {
    signalfd_siginfo info{};
    if (::read(fd_, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return 0;
    return static_cast<int>(info.ssi_signo);
  }

 private:
  int fd_;
};

// Writes all of `text` to stdout; false when the reader went away (`| head`) or the terminal
// hung up, which ends top quietly.
bool write_out(std::string_view text) { return write_all(STDOUT_FILENO, text); }

// The terminal while top draws on it: the alternate screen (the shell's screen comes back on
// exit), no cursor, and keys read one by one without echo. Ctrl-C still raises SIGINT (ISIG
// stays on). Everything is undone by the destructor, on every way out.
class Screen {
 public:
  Screen() {
    have_saved_ = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_) == 0;
    enter();
  }
  ~Screen() { leave(); }
  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;

  [[nodiscard]] bool reads_keys() const { return keys_; }

  // Ctrl-Z: the shell gets its screen and modes back while top is stopped, and top takes them
  // again when continued (`fg`).
  void suspend() {
    leave();
    ::kill(::getpid(), SIGSTOP);
    enter();
  }

  // Columns and rows; 80x24 when the terminal does not say.
  static std::pair<size_t, size_t> size() {
    winsize ws{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
      return {ws.ws_col, ws.ws_row};
    }
    return {80, 24};
  }

  // Redraws in place: home, each line cleared to its end, the rest of the screen cleared. No
  // line end after the last line, which would scroll a full screen.
  static bool draw(const std::vector<std::string>& lines) {
    std::string frame = "\x1b[H";
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) frame += "\n";
      frame += lines[i];
      frame += "\x1b[K";
    }
    frame += "\x1b[J";
    return write_out(frame);
  }

 private:
  void enter() {
    if (have_saved_) {
      termios raw = saved_;
      raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      keys_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    write_out("\x1b[?1049h\x1b[?25l");
  }
  void leave() {
    write_out("\x1b[?25h\x1b[?1049l");
    if (keys_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }

  termios saved_{};
  bool have_saved_ = false;
  bool keys_ = false;
};

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) {
    out += line;
    out += '\n';
  }
  return out;
}

class Top {
 public:
  Top(const TopArgs& args, MetricsTarget target, int64_t interval_ns)
      : args_(args), target_(std::move(target)), interval_ns_(interval_ns) {}

  // Starts the HTTP client (and its thread: after signals_, so it inherits their mask).
  bool connect(int64_t timeout_ns, std::string* error) {
    scraper_ = Scraper::create(target_, timeout_ns, error);
    return scraper_ != nullptr;
  }

  int run() {
    if (signals_.fd() < 0) {
      std::cerr << "sluice top: cannot watch signals\n";
      return 1;
    }
    // The first scrape decides whether there is anything to watch at all.
    ScrapeResult first = scrape_blocking();
    if (!first.scrape) return report_unreachable(first.error);
    previous_ = std::move(*first.scrape);
    if (args_.once) return run_once();
    const bool screen = !args_.json && isatty(STDOUT_FILENO);
    if (!screen) return run_loop(nullptr);
    Screen terminal;
    return run_loop(&terminal);
  }

 private:
  // Waits for one scrape; a signal meanwhile ends top (nullopt scrape, empty error).
  ScrapeResult scrape_blocking() {
    scraper_->start();
    for (;;) {
      pollfd fds[2] = {{scraper_->fd(), POLLIN, 0}, {signals_.fd(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return {};
      if (fds[1].revents && !handle_signal(nullptr)) return {};
      if (fds[0].revents) {
        if (auto result = scraper_->take()) return std::move(*result);
      }
    }
  }

  // False when a signal arrived during the wait.
  bool sleep_interval() {
    const int64_t until = monotonic_ns() + interval_ns_;
    for (int64_t now = monotonic_ns(); now < until; now = monotonic_ns()) {
      pollfd fds[1] = {{signals_.fd(), POLLIN, 0}};
      const int ms = static_cast<int>((until - now + 999'999) / 1'000'000);
      if (::poll(fds, 1, ms) > 0 && !handle_signal(nullptr)) return false;
    }
    return true;
  }

  // Acts on the next pending signal; false when it asks top to end (INT, TERM, HUP).
  bool handle_signal(Screen* screen) {
    switch (signals_.next()) {
      case SIGINT:
      case SIGTERM:
      case SIGHUP:
        return false;
      case SIGTSTP:
        // Blocked, so not stopped by it: stop as its default action would, tidily.
        if (screen) {
          screen->suspend();
        } else {
          ::kill(::getpid(), SIGSTOP);
        }
        return true;
      default:  // WINCH (the caller redraws), CONT
        return true;
    }
  }

  int report_unreachable(const std::string& error) {
    if (error.empty()) return 0;  // interrupted before the first answer
    std::cerr << fmt::format(
        "sluice top: no sluice answers at {} ({}): {}\n"
        "Point top at the running sluice's metrics address, the one its SLUICE_METRICS_ADDR "
        "gives: sluice top --addr HOST:PORT (or set SLUICE_METRICS_ADDR). That sluice needs its "
        "metrics server on (its SLUICE_METRICS_ADDR is not `off`).\n",
        target_.address, target_.origin, error);
    return kExitUnavailable;
  }

  int run_once() {
    if (!sleep_interval()) return 0;
    ScrapeResult second = scrape_blocking();
    if (!second.scrape) return report_unreachable(second.error);
    TopModel model = build_top_model(&previous_, *second.scrape, args_.files, args_.components);
    if (args_.json) {
      write_out(render_top_json(model, target_.address) + "\n");
    } else {
      write_out(join_lines(render_top_table(model, table_options(false, ""))));
    }
    return 0;
  }

  TopTableOptions table_options(bool screen, std::string status) const {
    TopTableOptions options;
    options.address = target_.address;
    options.status = std::move(status);
    options.color = isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
    if (screen) {
      auto [columns, rows] = Screen::size();
      options.width = columns;
      options.height = rows;
      options.interactive = true;
    }
    options.now_unix_s = static_cast<double>(wall_clock_ns()) / 1e9;
    return options;
  }

  // Draws the model; false when the output is gone.
  bool show(const TopModel& model, Screen* screen, const std::string& status) {
    if (screen) return Screen::draw(render_top_table(model, table_options(true, status)));
    // A pipe or a file gets only tables with rates, each followed by a blank line.
    if (!model.interval_s) return true;
    if (args_.json) return write_out(render_top_json(model, target_.address) + "\n");
    return write_out(join_lines(render_top_table(model, table_options(false, status))) + "\n");
  }

  int run_loop(Screen* screen) {
    TopModel model = build_top_model(nullptr, previous_, args_.files, args_.components);
    std::string status;
    if (!show(model, screen, status)) return 0;
    int64_t next_scrape_ns = monotonic_ns() + interval_ns_;
    bool in_flight = false;
    bool keys = screen && screen->reads_keys();
    for (;;) {
      const int64_t now = monotonic_ns();
      if (!in_flight && now >= next_scrape_ns) {
        scraper_->start();
        in_flight = true;
        next_scrape_ns = std::max(next_scrape_ns + interval_ns_, now + interval_ns_ / 2);
      }
      const int timeout_ms =
          in_flight ? -1 : static_cast<int>((next_scrape_ns - now + 999'999) / 1'000'000);
      pollfd fds[3] = {{scraper_->fd(), POLLIN, 0},
                       {signals_.fd(), POLLIN, 0},
                       {keys ? STDIN_FILENO : -1, POLLIN, 0}};
      if (::poll(fds, 3, timeout_ms) < 0 && errno != EINTR) return 1;
      if (fds[1].revents) {
        if (!handle_signal(screen)) return 0;
        if (!show(model, screen, status)) return 0;
      }
      if (fds[2].revents) {
        char buf[64];
        const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n <= 0) keys = false;  // stdin closed: Ctrl-C still works
        for (ssize_t i = 0; i < n; ++i) {
          if (buf[i] == 'q' || buf[i] == 'Q' || buf[i] == 0x03) return 0;
        }
      }
      if (fds[0].revents) {
        std::optional<ScrapeResult> result = scraper_->take();
        if (!result) continue;
        in_flight = false;
        if (result->scrape) {
          status.clear();
          model = build_top_model(&previous_, *result->scrape, args_.files, args_.components);
          previous_ = std::move(*result->scrape);
        } else {
          if (status.empty()) failing_since_ = wall_clock_text();
          status = fmt::format("no answer since {}: {} (retrying)", failing_since_, result->error);
          // A pipe gets the failure on stderr, not the last table again.
          if (!screen) {
            std::cerr << "sluice top: " << status << "\n";
            continue;
          }
        }
        if (!show(model, screen, status)) return 0;
      }
    }
  }

  static std::string wall_clock_text() {
    time_t now = time(nullptr);
    tm local{};
    localtime_r(&now, &local);
    char buf[16];
    strftime(buf, sizeof buf, "%H:%M:%S", &local);
    return buf;
  }

  const TopArgs& args_;
  MetricsTarget target_;
  int64_t interval_ns_;
  Signals signals_;
  std::unique_ptr<Scraper> scraper_;
  Scrape previous_;
  std::string failing_since_;
};

}  // namespace

CLI::App* add_top_subcommand(CLI::App& app, TopArgs& args) {
  CLI::App* top = app.add_subcommand(
      "top",
      "Watch a running sluice: per component rates, errors, drops, queues, ack lag, and "
      "the files furthest behind, from its /metrics");
  top->add_option("components", args.components,
                  "Show only these components (names or quoted globs); none: all")
      ->type_name("COMPONENT");
  top->add_option("--addr", args.addr,
                  "Metrics address of the sluice to watch (default $SLUICE_METRICS_ADDR, else "
                  "127.0.0.1:9598)")
      ->type_name("HOST:PORT");
  top->add_option("-i,--interval", args.interval,
                  "Time between scrapes, over which rates are computed (default 1s)")
      ->type_name("DURATION");
  top->add_option("--files", args.files, "How many of the files furthest behind to list (10)")
      ->type_name("N");
  top->add_flag("--once", args.once,
                "Scrape twice, one interval apart, print one table and exit (for scripts)");
  top->add_flag("--json", args.json,
                "One JSON object per interval (with --once: just one) instead of the table");
  top->footer(
      "On a terminal the view is redrawn in place; q or Ctrl-C quits. Piped, a table (or a "
      "JSON line with --json) is printed every interval. Exit 69 when nothing answers.");
  return top;
}

int top_command(const TopArgs& args) {
  std::string error;
  std::optional<MetricsTarget> target = resolve_metrics_target(args.addr, "top", &error);
  if (!target) {
    std::cerr << "sluice top: " << error << "\n";
    return kExitUsage;
  }
  const DurationParse interval = parse_duration(args.interval);
  if (interval.status != DurationParse::Status::Ok || interval.ns < kMinIntervalNs ||
      interval.ns > kMaxIntervalNs) {
    std::cerr << "sluice top: --interval must be a duration from 100ms to 1h (e.g. 1s, 500ms), "
                 "not `"
              << args.interval << "`\n";
    return kExitUsage;
  }
  // The HTTP client logs a failing endpoint as a warning, which would draw over the view; top
  // says it itself. SLUICE_LOG still chooses.
  if (std::getenv("SLUICE_LOG") == nullptr) log::set_threshold(log::Severity::Error);
  const int64_t timeout_ns = std::clamp<int64_t>(2 * interval.ns, 2'000'000'000, 10'000'000'000);
  Top top(args, std::move(*target), interval.ns);
  if (!top.connect(timeout_ns, &error)) {
    std::cerr << "sluice top: " << error << "\n";
    return 1;
  }
  return top.run();
}

}  // namespace sluice::cli
