#include "cli/validate_deep.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "base/secrets.hpp"
#include "options/interpolate.hpp"

namespace sluice::cli {

namespace {

constexpr int kProbeTimeoutMs = 3000;

struct HostPort {
  std::string host;
  std::string port;
};

// `scheme://host[:port][/...]` or `host[:port]`; IPv6 literals in brackets.
HostPort host_port(std::string_view text, std::string_view default_port) {
  if (size_t scheme = text.find("://"); scheme != std::string_view::npos) {
    text.remove_prefix(scheme + 3);
  }
  text = text.substr(0, text.find('/'));
  if (size_t at = text.rfind('@'); at != std::string_view::npos) text.remove_prefix(at + 1);
  HostPort out{std::string(text), std::string(default_port)};
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close != std::string_view::npos) {
      out.host = std::string(text.substr(1, close - 1));
      if (close + 1 < text.size() && text[close + 1] == ':') {
        out.port = std::string(text.substr(close + 2));
      }
    }
    return out;
  }
  if (size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    out.host = std::string(text.substr(0, colon));
    out.port = std::string(text.substr(colon + 1));
  }
  return out;
}

// A connected socket, or -1 with `error` set. Non-blocking connect bounded by the probe timeout.
int connect_to(const HostPort& target, std::string* error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(target.host.c_str(), target.port.c_str(), &hints, &found); rc != 0) {
    *error = std::string("cannot resolve: ") + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  *error = "no address";
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      *error = std::strerror(errno);
      ::close(fd);
      fd = -1;
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (::poll(&p, 1, kProbeTimeoutMs) != 1) {
      *error = "no answer within 3s";
    } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
      *error = std::strerror(soerr);
    } else {
      break;
    }
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(found);
  return fd;
}

// `GET /` and the status line of the answer, any status (401 means auth is needed, not down).
bool http_answers(int fd, const std::string& host, std::string* detail) {
  const std::string request = "GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    *detail = std::strerror(errno);
    return false;
  }
  char buffer[256];
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, kProbeTimeoutMs) != 1) {
    *detail = "connected, but no HTTP answer within 3s";
    return false;
  }
  ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
  std::string_view answer(buffer, n > 0 ? static_cast<size_t>(n) : 0);
  if (answer.substr(0, 7) != "HTTP/1.") {
    *detail = "connected, but the answer is not HTTP";
    return false;
  }
  *detail = "HTTP " + std::string(answer.substr(9, 3));
  return true;
}

// The directory a path template writes into: its literal part, before the first placeholder.
std::string literal_directory(const std::string& path) {
  size_t placeholder = std::min(path.find("{{"), path.find('%'));
  std::string literal = path.substr(0, placeholder);
  size_t slash = literal.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : literal.substr(0, slash);
}

// Writable as sluice would need it: the deepest directory that exists on the way must let it
// create what is missing below (nothing is created here).
bool directory_writable(const std::string& dir, std::string* detail) {
  std::string existing = dir;
  struct stat st {};
  while (::stat(existing.c_str(), &st) != 0) {
    size_t slash = existing.rfind('/');
    if (slash == std::string::npos) {
      existing = ".";
    } else {
      existing = slash == 0 ? "/" : existing.substr(0, slash);
    }
  }
  if (!S_ISDIR(st.st_mode)) {
    *detail = existing + " is not a directory";
    return false;
  }
  if (::access(existing.c_str(), W_OK | X_OK) != 0) {
    *detail = existing + ": " + std::strerror(errno);
    return false;
  }
  *detail = existing == dir ? "writable" : "can be created under " + existing;
  return true;
}

std::vector<std::string> scalars(const YAML::Node& node, const EnvLookup& env) {
  std::vector<std::string> out;
  if (node && node.IsScalar()) out.push_back(interpolate(node.Scalar(), env));
  if (node && node.IsSequence()) {
    for (const auto& item : node) out.push_back(interpolate(item.Scalar(), env));
  }
  return out;
}

}  // namespace

int deep_checks(const Topology& topology, const BuildContext& context, std::ostream& out) {
  bool unreachable = false;
  bool unwritable = false;
  auto report = [&out](bool ok, const std::string& what, const std::string& detail) {
    out << (ok ? "ok    " : "FAIL  ") << secrets::redact(what + ": " + detail) << "\n";
  };
  auto check_dir = [&](const std::string& what, const std::string& dir) {
    std::string detail;
    bool ok = directory_writable(dir, &detail);
    unwritable = unwritable || !ok;
    report(ok, what + " " + dir, detail);
  };

  std::string data_dir = context.data_dir;
  if (topology.root.IsMap() && topology.root["data_dir"]) {
    data_dir = interpolate(topology.root["data_dir"].Scalar(), context.env);
  }
  check_dir("data_dir", data_dir);
  for (const ComponentDecl& sink : topology.sinks) {
    const std::string what = "sink `" + sink.name + "`";
    if (sink.type == "file") {
      for (const auto& path : scalars(sink.node["path"], context.env)) {
        check_dir(what + " directory", literal_directory(path));
      }
    } else if (sink.type == "elasticsearch") {
      std::vector<std::string> urls = scalars(sink.node["endpoints"], context.env);
      for (const auto& url : scalars(sink.node["endpoint"], context.env)) urls.push_back(url);
      for (const auto& url : urls) {
        const bool tls = url.rfind("https://", 0) == 0;
        HostPort target = host_port(url, tls ? "443" : "80");
        std::string detail;
        int fd = connect_to(target, &detail);
        bool ok = fd >= 0;
        if (ok && !tls) ok = http_answers(fd, target.host, &detail);
        if (ok && tls) detail = "TCP connection (TLS not checked)";
        if (fd >= 0) ::close(fd);
        unreachable = unreachable || !ok;
        report(ok, what + " endpoint " + url, detail);
      }
    } else if (sink.type == "kafka") {
      for (const auto& list : scalars(sink.node["brokers"], context.env)) {
        bool any = false;
        std::string details;
        for (size_t start = 0; start <= list.size();) {
          size_t comma = std::min(list.find(',', start), list.size());
          std::string broker = list.substr(start, comma - start);
          start = comma + 1;
          if (broker.empty()) continue;
          std::string detail;
          int fd = connect_to(host_port(broker, "9092"), &detail);
          if (fd >= 0) ::close(fd);
          any = any || fd >= 0;
          details += (details.empty() ? "" : "; ") + broker + " " + (fd >= 0 ? "answers" : detail);
        }
        unreachable = unreachable || !any;
        report(any, what + " brokers", details);
      }
    }
  }
  if (unreachable) return kExitUnavailable;
  return unwritable ? kExitCantCreate : 0;
}

}  // namespace sluice::cli
