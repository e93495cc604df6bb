#include "cli/top_view.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "base/json_writer.hpp"
#include "base/utf8.hpp"

namespace sluice::cli {

namespace {

constexpr std::string_view kBold = "\x1b[1m";
constexpr std::string_view kReverse = "\x1b[7m";
constexpr std::string_view kRed = "\x1b[31m";
constexpr std::string_view kYellow = "\x1b[33m";
constexpr std::string_view kReset = "\x1b[0m";

// Queue fill from which a sink's row is drawn as a warning: producers block (or drop) at 100%.
constexpr double kQueueWarnFill = 0.8;

// "-" until there are two scrapes; blank for what the component's kind does not count.
std::string rate_cell(const std::optional<double>& rate, bool counted) {
  if (!counted) return "";
  return rate ? human_count(*rate) : "-";
}

std::string bytes_rate_cell(const std::optional<double>& rate, bool counted) {
  if (!counted) return "";
  return rate ? human_bytes(*rate) : "-";
}

// A total with what it grew by during the last interval: "12 +3".
std::string counter_cell(const CounterReading& c) {
  if (c.recent > 0) return fmt::format("{} +{}", human_count(c.total), human_count(c.recent));
  return human_count(c.total);
}

std::string percent_cell(const std::optional<double>& fill) {
  if (!fill) return "";
  if (*fill > 0 && *fill < 0.01) return "<1%";
  return fmt::format("{:.0f}%", *fill * 100);
}

std::string notes(const ComponentRow& row) {
  std::vector<std::string> parts;
  if (row.failing_seconds > 0) {
    parts.push_back(fmt::format("failing for {:.0f}s", row.failing_seconds));
  }
  if (row.disk_fill) parts.push_back("disk " + percent_cell(row.disk_fill));
  if (!row.dropped_by_reason.empty()) {
    std::string drops = "drops:";
    for (const auto& [reason, count] : row.dropped_by_reason) {
      drops += fmt::format(" {} {}", reason, human_count(count));
    }
    parts.push_back(std::move(drops));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

struct Column {
  std::string_view title;
  size_t max_width;  // cells are cut to it; the last column is never cut (the line is)
  bool right;        // numbers right-aligned
};

// Code points, not bytes: a name in UTF-8 pads like the ASCII ones.
size_t display_columns(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

// Each column as wide as its title or its widest cell (cut to the column's max).
std::vector<size_t> fit_widths(const std::vector<Column>& columns,
                               const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (size_t i = 0; i < columns.size(); ++i) {
    size_t widest = 0;
    for (const auto& cells : rows) widest = std::max(widest, display_columns(cells[i]));
    if (i + 1 < columns.size()) widest = std::min(widest, columns[i].max_width);
    widths.push_back(std::max(columns[i].title.size(), widest));
  }
  return widths;
}

std::string row_text(const std::vector<Column>& columns, const std::vector<size_t>& widths,
                     const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < columns.size() && i < cells.size(); ++i) {
    const bool last = i + 1 == columns.size();
    std::string cell = last ? cells[i] : terminal_safe(cells[i], widths[i]);
    const size_t shown = display_columns(cell);
    const std::string pad(widths[i] > shown ? widths[i] - shown : 0, ' ');
    if (i > 0) line += "  ";
    if (last) {
      line += cell;
    } else {
      line += columns[i].right ? pad + cell : cell + pad;
    }
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

std::vector<std::string> titles_of(const std::vector<Column>& columns) {
  std::vector<std::string> titles;
  titles.reserve(columns.size());
  for (const Column& c : columns) titles.emplace_back(c.title);
  return titles;
}

class TableWriter {
 public:
  explicit TableWriter(const TopTableOptions& options) : options_(options) {}

  // Adds a line (cut to the width, coloured as a whole); false once the height is reached.
  bool line(std::string_view text, std::string_view style = {}) {
    if (full()) return false;
    std::string out = options_.width ? terminal_safe(text, options_.width) : std::string(text);
    if (options_.color && !style.empty()) out = std::string(style) + out + std::string(kReset);
    lines_.push_back(std::move(out));
    return true;
  }
  [[nodiscard]] bool full() const { return options_.height && lines_.size() >= options_.height; }
  [[nodiscard]] size_t left() const {
    return options_.height ? options_.height - std::min(options_.height, lines_.size()) : SIZE_MAX;
  }
  std::vector<std::string> take() { return std::move(lines_); }

 private:
  const TopTableOptions& options_;
  std::vector<std::string> lines_;
};

void component_table(const TopModel& model, TableWriter& out) {
  const std::vector<Column> columns = {
      {"COMPONENT", 24, false},  {"KIND", 9, false},       {"EVENTS/S IN", 9, true},
      {"EVENTS/S OUT", 9, true}, {"BYTES/S IN", 10, true}, {"BYTES/S OUT", 10, true},
      {"ERRORS", 14, true},      {"PARSE ERR", 14, true},  {"DROPS", 14, true},
      {"QUEUE", 5, true},        {"ACK LAG", 8, true},     {"NOTES", 0, false},
  };
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string_view> styles;
  for (const ComponentRow& row : model.components) {
    rows.push_back({
        terminal_safe(row.name, SIZE_MAX),
        terminal_safe(row.kind, SIZE_MAX),
        rate_cell(row.events_in_per_s, row.counts_events_in),
        rate_cell(row.events_out_per_s, true),
        bytes_rate_cell(row.bytes_in_per_s, row.counts_bytes_in),
        bytes_rate_cell(row.bytes_out_per_s, row.counts_bytes_out),
        counter_cell(row.errors),
        counter_cell(row.parse_errors),
        counter_cell(row.dropped),
        percent_cell(row.queue_fill),
        row.unacknowledged_events ? human_count(*row.unacknowledged_events) : "",
        terminal_safe(notes(row), SIZE_MAX),
    });
    std::string_view style;
    if (row.failing_seconds > 0 || row.errors.recent > 0 || row.dropped.recent > 0) {
      style = kRed;
    } else if (row.queue_fill && *row.queue_fill >= kQueueWarnFill) {
      style = kYellow;
    }
    styles.push_back(style);
  }
  const std::vector<size_t> widths = fit_widths(columns, rows);
  out.line(row_text(columns, widths, titles_of(columns)), kReverse);
  for (size_t i = 0; i < rows.size(); ++i) {
    // Keep a line to say what is not shown.
    if (out.left() == 1 && i + 1 < rows.size()) {
      out.line(fmt::format("… {} more components (name the ones to watch: sluice top NAME…)",
                           rows.size() - i));
      return;
    }
    if (!out.line(row_text(columns, widths, rows[i]), styles[i])) return;
  }
}

void file_table(const TopModel& model, TableWriter& out) {
  if (model.files_followed == 0 && model.files.empty()) return;
  out.line("");
  std::string summary = fmt::format("FILES  {:.0f} followed, {} behind", model.files_followed,
                                    human_bytes(model.bytes_behind));
  if (!model.files.empty()) {
    summary += fmt::format("; the {} furthest behind:", model.files.size());
  }
  out.line(summary, kBold);
  if (model.files.empty()) return;
  const std::vector<Column> columns = {
      {"SOURCE", 16, false}, {"BEHIND", 10, true}, {"READ/S", 10, true}, {"SIZE", 10, true},
      {"READ", 10, true},    {"ACKED", 10, true},  {"PATH", 0, false},
  };
  std::vector<std::vector<std::string>> rows;
  for (const FileRow& f : model.files) {
    rows.push_back({
        terminal_safe(f.source, SIZE_MAX),
        human_bytes(f.bytes_behind()),
        f.read_bytes_per_s ? human_bytes(*f.read_bytes_per_s) : "-",
        human_bytes(f.size),
        human_bytes(f.read_offset),
        human_bytes(f.acknowledged_offset),
        terminal_safe(f.path, SIZE_MAX),
    });
  }
  const std::vector<size_t> widths = fit_widths(columns, rows);
  out.line(row_text(columns, widths, titles_of(columns)), kReverse);
  for (const auto& cells : rows) {
    if (!out.line(row_text(columns, widths, cells))) return;
  }
}

void append_number(ByteBuffer& out, double value) {
  // JSON has no NaN or infinity.
  out.append(std::isfinite(value) ? fmt::format("{}", value) : std::string("null"));
}

void append_member(ByteBuffer& out, std::string_view key, double value) {
  out.push_back(',');
  append_json_string(out, key, true);
  out.push_back(':');
  append_number(out, value);
}

void append_member(ByteBuffer& out, std::string_view key, const std::optional<double>& value) {
  if (value) append_member(out, key, *value);
}

void append_component(ByteBuffer& out, const ComponentRow& row) {
  out.append("{\"name\":");
  append_json_string(out, row.name);
  out.append(",\"kind\":");
  append_json_string(out, row.kind);
  // What the kind does not count is left out, not written as 0.
  if (row.counts_events_in) append_member(out, "events_in_per_second", row.events_in_per_s);
  append_member(out, "events_out_per_second", row.events_out_per_s);
  if (row.counts_bytes_in) append_member(out, "bytes_in_per_second", row.bytes_in_per_s);
  if (row.counts_bytes_out) append_member(out, "bytes_out_per_second", row.bytes_out_per_s);
  if (row.counts_events_in) append_member(out, "events_in_total", row.events_in.total);
  append_member(out, "events_out_total", row.events_out.total);
  append_member(out, "errors_total", row.errors.total);
  append_member(out, "parse_errors_total", row.parse_errors.total);
  append_member(out, "dropped_events_total", row.dropped.total);
  if (!row.dropped_by_reason.empty()) {
    out.append(",\"dropped_events_by_reason\":{");
    bool first = true;
    for (const auto& [reason, count] : row.dropped_by_reason) {
      if (!first) out.push_back(',');
      first = false;
      append_json_string(out, reason);
      out.push_back(':');
      append_number(out, count);
    }
    out.push_back('}');
  }
  append_member(out, "queue_fill_ratio", row.queue_fill);
  append_member(out, "disk_buffer_fill_ratio", row.disk_fill);
  append_member(out, "unacknowledged_events", row.unacknowledged_events);
  if (row.kind == "sink") append_member(out, "failing_seconds", row.failing_seconds);
  out.push_back('}');
}

void append_file(ByteBuffer& out, const FileRow& f) {
  out.append("{\"source\":");
  append_json_string(out, f.source);
  out.append(",\"path\":");
  append_json_string(out, f.path);
  append_member(out, "bytes_behind", f.bytes_behind());
  append_member(out, "size_bytes", f.size);
  append_member(out, "read_offset_bytes", f.read_offset);
  append_member(out, "acknowledged_offset_bytes", f.acknowledged_offset);
  append_member(out, "read_bytes_per_second", f.read_bytes_per_s);
  out.push_back('}');
}

}  // namespace

std::string human_count(double value) {
  if (!std::isfinite(value)) return "?";
  if (value == 0) return "0";
  if (std::fabs(value) < 10 && value != std::floor(value)) return fmt::format("{:.1f}", value);
  static constexpr std::string_view kSuffixes[] = {"", "k", "M", "G", "T", "P"};
  size_t unit = 0;
  while (std::fabs(value) >= 999.5 && unit + 1 < std::size(kSuffixes)) {
    value /= 1000;
    ++unit;
  }
  if (unit == 0) return fmt::format("{:.0f}", value);
  const double magnitude = std::fabs(value);
  const int decimals = magnitude < 9.995 ? 2 : (magnitude < 99.95 ? 1 : 0);
  return fmt::format("{:.{}f}{}", value, decimals, kSuffixes[unit]);
}

std::string human_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<uint64_t>(std::min(seconds, 1e15));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

std::string human_bytes(double value) {
  if (!std::isfinite(value)) return "?";
  if (std::fabs(value) < 1023.5) return fmt::format("{:.0f} B", value);
  static constexpr std::string_view kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  size_t unit = 0;
  value /= 1024;
  while (std::fabs(value) >= 1023.5 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  const double magnitude = std::fabs(value);
  const int decimals = magnitude < 9.995 ? 2 : (magnitude < 99.95 ? 1 : 0);
  return fmt::format("{:.{}f} {}", value, decimals, kUnits[unit]);
}

std::string terminal_safe(std::string_view text, size_t columns) {
  if (columns == 0) return {};
  // Each piece is one code point of `text` as shown: itself, U+FFFD, or a 4-column escape.
  struct Piece {
    size_t end;    // in `out`
    size_t shown;  // columns up to its end
  };
  std::string out;
  std::vector<Piece> pieces;
  size_t shown = 0;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t len = utf8_sequence_length(text, i);
    // C1 controls (U+0080..U+009F) are two bytes, C2 80..C2 9F; some terminals obey them.
    const bool c1 = len == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0;
    if (len == 0) {
      out.append("\xEF\xBF\xBD");
      shown += 1;
      i += 1;
    } else if (c < 0x20 || c == 0x7F || c1) {
      const unsigned escaped = c1 ? static_cast<unsigned char>(text[i + 1]) : c;
      out.append(fmt::format("\\x{:02x}", escaped));
      shown += 4;
      i += len;
    } else {
      out.append(text.substr(i, len));
      shown += 1;
      i += len;
    }
    pieces.push_back({out.size(), shown});
    // Past the limit: no need to look further.
    if (shown > columns) break;
  }
  if (shown <= columns) return out;
  // Cut: keep what fits in one column less, and say so in the last one.
  size_t keep = 0;
  for (const Piece& piece : pieces) {
    if (piece.shown > columns - 1) break;
    keep = piece.end;
  }
  out.resize(keep);
  out.append("…");
  return out;
}

std::vector<std::string> render_top_table(const TopModel& model, const TopTableOptions& options) {
  TableWriter out(options);
  std::string header =
      fmt::format("sluice {} at {}", model.version.empty() ? "?" : model.version, options.address);
  header += model.interval_s ? fmt::format(", rates over {:.1f}s", *model.interval_s)
                             : std::string(", first look (rates after the next)");
  if (model.started_unix_s && options.now_unix_s >= *model.started_unix_s) {
    header += ", up " + human_duration(options.now_unix_s - *model.started_unix_s);
  }
  if (model.resident_bytes > 0) header += ", RSS " + human_bytes(model.resident_bytes);
  if (options.interactive) header += "  (q quits)";
  out.line(header, kBold);
  if (!options.status.empty()) out.line(options.status, kRed);
  component_table(model, out);
  file_table(model, out);
  return out.take();
}

std::string render_top_json(const TopModel& model, std::string_view address) {
  ByteBuffer out;
  out.append("{\"address\":");
  append_json_string(out, address);
  out.append(",\"version\":");
  append_json_string(out, model.version);
  append_member(out, "interval_seconds", model.interval_s);
  append_member(out, "resident_memory_bytes", model.resident_bytes);
  append_member(out, "started_unix_seconds", model.started_unix_s);
  out.append(",\"components\":[");
  for (size_t i = 0; i < model.components.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_component(out, model.components[i]);
  }
  out.append("],\"files\":{\"followed\":");
  append_number(out, model.files_followed);
  append_member(out, "bytes_behind", model.bytes_behind);
  out.append(",\"furthest_behind\":[");
  for (size_t i = 0; i < model.files.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_file(out, model.files[i]);
  }
  out.append("]}}");
  return std::string(out.view());
}

}  // namespace sluice::cli
