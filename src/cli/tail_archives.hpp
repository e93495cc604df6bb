#pragma once
// Compressed files for `sluice tail`: rotated archives (`app.log.1.gz`, `app.log.2.zst`) are what
// people read when something went wrong. Each is read decompressed, once, from its beginning, by
// a source of its own (an archive does not grow: there is nothing to follow).
#include <optional>
#include <string>
#include <string_view>

#include "parse/framer.hpp"
#include "sluice/source.hpp"

namespace sluice::cli {

// `.gz` or `.zst` at the end of the name.
bool is_compressed_name(std::string_view path);

// The framer of an archive's source: tail's --multiline mode (java, python, go or auto), if any.
FramerOptions archive_framer(const std::optional<std::string>& multiline);

class ArchiveSource final : public Source {
 public:
  ArchiveSource(std::string path, FramerOptions framer);
  ~ArchiveSource() override;
  ArchiveSource(const ArchiveSource&) = delete;
  ArchiveSource& operator=(const ArchiveSource&) = delete;

  bool start(std::string* error) override;
  void run(SourceContext& ctx) override;
  void stop() override;

 private:
  std::string path_;
  FramerOptions framer_;
  int pipe_[2] = {-1, -1};  // the decompressing thread writes, run() reads
  int wake_fd_ = -1;        // eventfd: stop() wakes run()'s poll
};

}  // namespace sluice::cli
