#include "sinks/dead_letter.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "base/civil_time.hpp"
#include "base/io.hpp"
#include "base/json_writer.hpp"
#include "core/durable_file.hpp"

namespace sluice {

DeadLetterWriter::DeadLetterWriter(std::string data_dir, std::string sink_name)
    : data_dir_(std::move(data_dir)),
      sink_name_(std::move(sink_name)),
      path_(path_for(data_dir_, sink_name_)) {}

DeadLetterWriter::~DeadLetterWriter() {
  if (fd_ >= 0) ::close(fd_);
}

std::string DeadLetterWriter::path_for(const std::string& data_dir, const std::string& sink_name) {
  std::string name = sink_name;
  for (char& c : name) {
    if (c == '/' || c == '\0') c = '_';
  }
  if (name.empty() || name == "." || name == "..") name = "_" + name;
  std::string dir = data_dir.empty() ? std::string(".") : data_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + "/dead-letter/" + name + ".jsonl";
}

void DeadLetterWriter::pause_after_failure(const std::string& error, int64_t delay_ns) {
  uint64_t suppressed = 0;
  if (failure_log_.allow(&suppressed)) {
    log::error("dead-letter write failed, retrying", "sink", sink_name_, "error", error,
               "retry_in_ms", delay_ns / 1'000'000, "suppressed_logs", suppressed);
  }
  std::this_thread::sleep_for(std::chrono::nanoseconds(delay_ns));
}

bool DeadLetterWriter::open(std::string* error) {
  if (fd_ >= 0) return true;
  std::string dir = path_.substr(0, path_.rfind('/'));
  if (!make_dirs(dir, error)) return false;
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    *error = "cannot open " + path_ + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool DeadLetterWriter::write(std::string_view destination_field, std::string_view destination,
                             std::string_view reason, std::string_view event, int64_t time_ns,
                             std::string* error) {
  if (!open(error)) return false;
  if (!event.empty() && event.back() == '\n') event.remove_suffix(1);
  line_.clear();
  line_.append("{\"time\":\"");
  format_rfc3339(time_ns, line_.prepare(kRfc3339Length));
  line_.commit(kRfc3339Length);
  line_.append("\",\"sink\":");
  append_json_string(line_, sink_name_);
  line_.push_back(',');
  append_json_string(line_, destination_field);
  line_.push_back(':');
  append_json_string(line_, destination);
  line_.append(",\"error\":");
  append_json_string(line_, reason);
  line_.append(",\"event\":");
  append_json_string(line_, event);
  line_.append("}\n");
  off_t before = ::lseek(fd_, 0, SEEK_END);
  if (!write_all(fd_, line_.view())) {
    *error = "cannot write " + path_ + ": " + std::strerror(errno);
    // A short write (disk full) may have left half a record: cut it off, so that the file stays
    // valid JSON lines when the caller retries.
    if (before >= 0) (void)!::ftruncate(fd_, before);
    return false;
  }
  ++written_;
  return true;
}

}  // namespace sluice
