#pragma once
// `file`: writes events to files named by a template (`/var/log/out/{{ source }}-%Y-%m-%d.jsonl`),
// with rotation by size and time, optional gzip/zstd, reopen on SIGHUP and an fsync policy.
// A delivery is acknowledged once its bytes are written and flushed (and fsynced when the policy
// asks for it).
//
// An event whose rendered file cannot be created or opened because of its own name (a value
// naming a directory, or a path through a file: sinks/file/output_path.hpp) goes to the dead-letter
// file `<data_dir>/dead-letter/<sink>.jsonl` with the reason, like the Kafka and Elasticsearch
// sinks' rejected events, and the sink goes on. Any other failure (disk full, read-only, no
// permission on the configured directory) is retried with backoff, holding the pipeline back.
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "core/template.hpp"
#include "sinks/dead_letter.hpp"
#include "sinks/file/file_writer.hpp"
#include "sluice/sink.hpp"

namespace sluice {

struct FileSinkOptions {
  std::string name;
  std::string data_dir;  // the dead-letter file goes below it
  Template path;
  EncodingSpec encoding;
  FileWriterOptions writer;    // `path` in here is ignored; the template decides
  size_t max_open_files = 64;  // least recently used files are closed beyond this
  int64_t idle_close_ns = 60'000'000'000;
};

class FileSink final : public Sink {
 public:
  explicit FileSink(FileSinkOptions options);
  ~FileSink() override;

  [[nodiscard]] EncodingSpec encoding() const override { return options_.encoding; }
  [[nodiscard]] std::vector<const Template*> templates() const override;
  void consume(Delivery delivery) override;
  void tick(int64_t now_ns) override;
  void reopen() override;
  void shutdown() override;

 private:
  struct OpenFile {
    std::unique_ptr<FileWriter> writer;
    int64_t last_used_ns = 0;
    bool dirty = false;  // written since the last durable flush
  };
  OpenFile& file_for(const std::string& path, int64_t now_ns);
  // Retries until written: a full disk blocks the sink (backpressure) instead of losing data.
  // False, with the reason, when the file cannot be opened because of its event-chosen name.
  bool write_with_retry(OpenFile& file, std::string_view data, std::string* reason);
  // Events [begin, end) of `batch`, bound for `path`, go to the dead-letter file.
  void dead_letter(const EncodedBatch& batch, size_t begin, size_t end, std::string_view path,
                   std::string_view reason);
  bool flush_all(int64_t now_ns, bool force_durable);
  void rotate_if_due(OpenFile& file, int64_t now_ns);
  void close_idle(int64_t now_ns);

  FileSinkOptions options_;
  std::map<std::string, OpenFile> files_;
  std::deque<Delivery> waiting_for_fsync_;
  std::string path_scratch_;
  std::string reason_scratch_;
  DeadLetterWriter dead_letters_;
  uint64_t dead_lettered_ = 0;
  log::RateLimit error_log_;
  log::RateLimit dead_letter_log_;
};

}  // namespace sluice
