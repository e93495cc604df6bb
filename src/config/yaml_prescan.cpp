#include "config/yaml_prescan.hpp"

#include <cstring>
#include <unordered_set>
#include <vector>

#include "options/config_error.hpp"
#include "options/map_reader.hpp"

namespace sluice {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool is_flow_indicator(char c) { return c == ',' || c == '[' || c == ']' || c == '{' || c == '}'; }

// One pass over the text, line by line. It tracks just enough of YAML to know where a node
// starts (where a flow collection, a quoted scalar or a block scalar may begin), the block
// indentation levels and the flow depth.
class Prescan {
 public:
  Prescan(std::string_view text, const std::string& file, const ConfigLimits& limits)
      : text_(text), file_(file), limits_(limits) {}

  void run() {
    reject_nul_bytes();
    for (size_t pos = 0; pos < text_.size(); ++line_) {
      size_t end = text_.find('\n', pos);
      if (end == std::string_view::npos) end = text_.size();
      scan_line(pos, end);
      pos = end + 1;
    }
  }

 private:
  [[noreturn]] void fail(size_t pos, const std::string& message) const {
    throw ConfigError(file_, line_, static_cast<int>(pos - line_start_), message);
  }

  void reject_nul_bytes() {
    const void* nul = std::memchr(text_.data(), '\0', text_.size());
    if (nul == nullptr) return;
    size_t pos = static_cast<size_t>(static_cast<const char*>(nul) - text_.data());
    for (size_t i = 0; i < pos; ++i) {
      if (text_[i] == '\n') {
        ++line_;
        line_start_ = i + 1;
      }
    }
    fail(pos, "a NUL byte in the config file (it would cut a value short)");
  }

  void check_depth(size_t pos) const {
    if (static_cast<int>(block_.size()) + flow_ > limits_.max_depth) {
      fail(pos, "nesting deeper than " + std::to_string(limits_.max_depth) +
                    " levels (the limit for a config file)");
    }
  }
  void count_value(size_t pos) {
    if (++values_ > limits_.max_values) {
      fail(pos, "more than " + std::to_string(limits_.max_values) +
                    " values (the limit for a config file)");
    }
  }
  void push_block(int indent, size_t pos) {
    block_.push_back(indent);
    check_depth(pos);
  }
  void open_flow(size_t pos) {
    ++flow_;
    count_value(pos);
    check_depth(pos);
    node_start_ = true;
  }
  [[nodiscard]] bool blank_after(size_t k, size_t end) const {
    return k + 1 >= end || is_blank(text_[k + 1]);
  }
  // Skips an anchor, tag or alias name: returns its last character.
  [[nodiscard]] size_t token_end(size_t k, size_t end) const {
    while (k + 1 < end && !is_blank(text_[k + 1]) &&
           !(flow_ > 0 && is_flow_indicator(text_[k + 1])))
      ++k;
    return k;
  }

  // The lines of a block scalar (`|`, `>`) are text: those indented deeper than its first line
  // (which must be deeper than the parent) belong to it, and so do blank lines.
  bool in_block_scalar(int indent, bool blank) {
    if (block_scalar_parent_ < 0) return false;
    if (blank) return true;
    if (block_scalar_content_ < 0 && indent > block_scalar_parent_) block_scalar_content_ = indent;
    if (block_scalar_content_ >= 0 && indent >= block_scalar_content_) return true;
    block_scalar_parent_ = -1;
    block_scalar_content_ = -1;
    return false;
  }

  void scan_line(size_t begin, size_t end) {
    line_start_ = begin;
    size_t k = begin;
    if (quote_ == 0) {
      size_t content = begin;
      while (content < end && is_blank(text_[content])) ++content;
      const int indent = static_cast<int>(content - begin);
      const bool blank = content == end || text_[content] == '#';
      if (in_block_scalar(indent, blank) || blank) return;
      if (flow_ == 0) {
        if (indent == 0 && text_[content] == '%') return;  // a directive
        if (indent == 0 &&
            (text_.substr(content, 3) == "---" || text_.substr(content, 3) == "...") &&
            blank_after(content + 2, end)) {
          block_.clear();  // a new document
          content += 3;
        } else {
          while (!block_.empty() && block_.back() >= indent) block_.pop_back();
          push_block(indent, content);
        }
        node_start_ = true;
      }
      line_indent_ = indent;
      k = content;
    }
    scan(k, end);
  }

  void scan(size_t k, size_t end) {
    bool blank_before = true;
    bool quote_closed = false;
    for (; k < end; ++k) {
      const char c = text_[k];
      if (quote_ != 0) {
        // `\x` in double quotes and `''` in single quotes do not end the scalar.
        const bool escape =
            quote_ == '"' ? c == '\\' : c == '\'' && k + 1 < end && text_[k + 1] == '\'';
        if (escape) {
          ++k;
        } else if (c == quote_) {
          quote_ = 0;
          quote_closed = true;
          blank_before = false;
        }
        continue;
      }
      const bool after_blank = blank_before;
      const bool after_quote = quote_closed;
      blank_before = is_blank(c);
      quote_closed = false;
      if (blank_before) continue;
      if (c == '#' && after_blank) return;  // a comment
      if (node_start_) {
        scan_node_start(k, end);
        if (block_scalar_parent_ >= 0) return;  // the rest of the line is the header
        continue;
      }
      // Inside a plain scalar, or after a quoted scalar or a collection.
      if (flow_ > 0) {
        const bool value_follows =
            c == ':' && (after_quote || k + 1 >= end || is_blank(text_[k + 1]) ||
                         is_flow_indicator(text_[k + 1]));
        if (c == '[' || c == '{') {
          open_flow(k);
        } else if (c == ']' || c == '}') {
          --flow_;
        } else if (c == ',' || value_follows) {
          node_start_ = true;
        }
      } else if (c == ':' && blank_after(k, end)) {
        node_start_ = true;  // a mapping value follows
      }
    }
  }

  // `k` is the first character of a node, or of an indicator before one.
  void scan_node_start(size_t& k, size_t end) {
    const char c = text_[k];
    if (flow_ == 0 && (c == '-' || c == '?' || c == ':') && blank_after(k, end)) {
      // A block sequence entry (or complex key): what follows is one level deeper.
      if (c != ':') push_block(static_cast<int>(k - line_start_) + 1, k);
      return;
    }
    if (c == '&' || c == '!') {  // an anchor or a tag: the node is still to come
      k = token_end(k, end);
      return;
    }
    if (c == '[' || c == '{') {
      open_flow(k);
      return;
    }
    if (flow_ > 0 && (c == ']' || c == '}')) {  // an empty collection, or a trailing comma
      --flow_;
      node_start_ = false;
      return;
    }
    if (flow_ > 0 && c == ',') return;
    count_value(k);
    node_start_ = false;
    if (c == '"' || c == '\'') {
      quote_ = c;
    } else if (c == '*') {
      k = token_end(k, end);
    } else if ((c == '|' || c == '>') && flow_ == 0) {
      block_scalar_parent_ = line_indent_;
      block_scalar_content_ = -1;
    }
  }

  std::string_view text_;
  const std::string& file_;
  const ConfigLimits& limits_;
  int line_ = 0;
  size_t line_start_ = 0;
  int line_indent_ = 0;
  std::vector<int> block_;  // indentation of the open block levels; at most max_depth + 1
  int flow_ = 0;
  bool node_start_ = true;
  char quote_ = 0;  // inside a quoted scalar (which may span lines)
  int block_scalar_parent_ = -1;
  int block_scalar_content_ = -1;
  size_t values_ = 0;
};

}  // namespace

void check_yaml_limits(std::string_view text, const std::string& file, const ConfigLimits& limits) {
  Prescan(text, file, limits).run();
}

void reject_nul_scalars(const YAML::Node& root, const std::string& file) {
  std::vector<YAML::Node> pending{root};
  std::unordered_set<int> seen;  // collections, by their position in the text
  while (!pending.empty()) {
    YAML::Node node = pending.back();
    pending.pop_back();
    if (!node) continue;
    if (node.IsScalar()) {
      if (node.Scalar().find('\0') != std::string::npos) {
        throw_at(file, node.Mark(),
                 "a NUL byte in a value (an escape such as \\0): it would cut the value short");
      }
      continue;
    }
    if (!(node.IsMap() || node.IsSequence()) || !seen.insert(node.Mark().pos).second) continue;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (node.IsMap()) {
        pending.push_back(it->first);
        pending.push_back(it->second);
      } else {
        pending.push_back(*it);
      }
    }
  }
}

}  // namespace sluice
