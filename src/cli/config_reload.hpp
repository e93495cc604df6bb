#pragma once
// Live config reload for `sluice run`: what triggers it (SIGHUP, the config file changing with
// --watch-config, POST /reload) and the one thread that performs it. Triggers arriving while a
// reload runs are coalesced into one more reload of the file as it is then: never dropped, never
// two at a time (Fluent Bit and Vector users lost reloads that arrived together).
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/factory.hpp"
#include "core/pipeline.hpp"

namespace sluice::cli {

class ConfigReloader {
 public:
  struct Result {
    bool success = false;
    std::string detail;  // the config error (file:line:col: ...), or what changed
    double seconds = 0;  // from the first trigger to the new topology running
  };
  using Load = std::function<BuiltPipeline()>;  // throws ConfigError
  using Done = std::function<void(const Result&)>;

  ConfigReloader(Pipeline& pipeline, Load load);
  ~ConfigReloader();
  ConfigReloader(const ConfigReloader&) = delete;
  ConfigReloader& operator=(const ConfigReloader&) = delete;

  // Any thread, never blocks: a reload that starts after this call will run; `done` (optional)
  // is called with its result on the reloading thread.
  void request(const char* trigger, Done done = {});

 private:
  void loop();
  Result reload_once(const std::string& trigger, int64_t requested_ns);

  Pipeline& pipeline_;
  Load load_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool pending_ = false;
  bool stopping_ = false;
  std::string triggers_;          // of the pending reload, for the log
  int64_t first_request_ns_ = 0;  // monotonic
  std::vector<Done> waiting_;
  std::thread thread_;
};

// Calls `changed` when the config file may have changed: written and closed, replaced by a
// rename, or (Kubernetes ConfigMap) its directory's `..data` symlink swapped. Watches the file
// and its directory with inotify on a thread of its own.
class ConfigWatcher {
 public:
  // Null with `error` set when inotify is not available.
  static std::unique_ptr<ConfigWatcher> start(const std::string& path,
                                              std::function<void()> changed, std::string* error);
  ~ConfigWatcher();
  ConfigWatcher(const ConfigWatcher&) = delete;
  ConfigWatcher& operator=(const ConfigWatcher&) = delete;

 private:
  ConfigWatcher(std::string path, std::function<void()> changed, int inotify_fd, int stop_fd);
  void loop();
  void watch_file();  // (again) the file the path resolves to now

  std::string path_;
  std::string dir_;
  std::string name_;
  std::function<void()> changed_;
  int inotify_fd_;
  int stop_fd_;
  int file_watch_ = -1;
  std::thread thread_;
};

}  // namespace sluice::cli
