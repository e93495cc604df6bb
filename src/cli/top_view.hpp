#pragma once
// Drawing `sluice top`'s model (cli/top_model.hpp): a table of lines for a terminal or a pipe,
// or one JSON object for scripts. Names and paths come from the watched sluice's page, a
// network answer: control characters in them are shown escaped, never sent to the terminal.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cli/top_model.hpp"

namespace sluice::cli {

struct TopTableOptions {
  std::string address;       // what the header says top is watching
  size_t width = 0;          // cut every line to this many columns; 0: no limit
  size_t height = 0;         // at most this many lines (components first); 0: no limit
  bool color = false;        // ANSI colours and bold
  bool interactive = false;  // the header says how to quit
  std::string status;        // e.g. the last scrape's failure; shown under the header when set
  double now_unix_s = 0;     // for the uptime in the header; 0: none shown
};

// The table's lines, without line ends.
std::vector<std::string> render_top_table(const TopModel& model, const TopTableOptions& options);

// One JSON object (no line end): the same figures, unrounded, for `--json`.
std::string render_top_json(const TopModel& model, std::string_view address);

// `text` made safe and short for a terminal: control characters (C0, DEL, C1) written as \xNN,
// bytes that are not UTF-8 as U+FFFD, then cut to `columns` code points with a trailing "…".
std::string terminal_safe(std::string_view text, size_t columns);

// Human figures: 0, 7.5, 999, 1.23k, 45.6M; 512 B, 1.50 KiB, 120 MiB.
std::string human_count(double value);
std::string human_bytes(double value);
// 45s, 12m05s, 3h12m, 2d04h.
std::string human_duration(double seconds);

}  // namespace sluice::cli
