#include "transforms/condition.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#include "base/field_path.hpp"
#include "base/level.hpp"

namespace sluice {
namespace {

enum class Op { Eq, Ne, Match, NotMatch, Lt, Le, Gt, Ge };

// Finite numbers only: from_chars accepts "inf" and "nan", which no one means as numbers in a log.
bool parse_number(std::string_view text, double* out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && std::isfinite(*out);
}

class AndNode final : public Condition {
 public:
  explicit AndNode(std::vector<std::unique_ptr<Condition>> children)
      : children_(std::move(children)) {}
  bool matches(const FieldLookup& event) const override {
    for (const auto& child : children_) {
      if (!child->matches(event)) return false;
    }
    return true;
  }

 private:
  std::vector<std::unique_ptr<Condition>> children_;
};

class OrNode final : public Condition {
 public:
  explicit OrNode(std::vector<std::unique_ptr<Condition>> children)
      : children_(std::move(children)) {}
  bool matches(const FieldLookup& event) const override {
    for (const auto& child : children_) {
      if (child->matches(event)) return true;
    }
    return false;
  }

 private:
  std::vector<std::unique_ptr<Condition>> children_;
};

class NotNode final : public Condition {
 public:
  explicit NotNode(std::unique_ptr<Condition> child) : child_(std::move(child)) {}
  bool matches(const FieldLookup& event) const override { return !child_->matches(event); }

 private:
  std::unique_ptr<Condition> child_;
};

class ExistsNode final : public Condition {
 public:
  explicit ExistsNode(std::string path)
      : path_(std::move(path)), plain_(!has_quoted_segment(path_)) {}
  bool matches(const FieldLookup& event) const override {
    return (plain_ ? event.get_plain(path_) : event.get(path_)).has_value();
  }

 private:
  std::string path_;
  bool plain_;  // no quoted segment: looked up without checking for one per event
};

class CompareNode final : public Condition {
 public:
  // Everything derivable from the literal is worked out here so matches() only parses the field.
  CompareNode(std::string path, Op op, std::string literal, std::unique_ptr<RE2> regex)
      : path_(std::move(path)),
        plain_(!has_quoted_segment(path_)),
        op_(op),
        literal_(std::move(literal)),
        regex_(std::move(regex)) {
    literal_numeric_ = parse_number(literal_, &literal_number_);
    // A numeric literal compares as a number even if it is also a syslog/pino level number.
    if (!literal_numeric_) literal_level_ = parse_level(literal_);
  }

  bool matches(const FieldLookup& event) const override {
    const std::optional<Value> value = plain_ ? event.get_plain(path_) : event.get(path_);
    if (!value) return op_ == Op::Ne || op_ == Op::NotMatch;
    switch (op_) {
      case Op::Eq:
        return equals(*value);
      case Op::Ne:
        return !equals(*value);
      case Op::Match:
        return regex_matches(value->text);
      case Op::NotMatch:
        return !regex_matches(value->text);
      case Op::Lt:
      case Op::Le:
      case Op::Gt:
      case Op::Ge:
        break;
    }
    int order = 0;
    if (!compare(*value, &order)) return false;
    switch (op_) {
      case Op::Lt:
        return order < 0;
      case Op::Le:
        return order <= 0;
      case Op::Gt:
        return order > 0;
      default:
        return order >= 0;
    }
  }

 private:
  bool regex_matches(std::string_view text) const {
    return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *regex_);
  }

  bool equals(const Value& value) const {
    if (value.kind == ValueKind::Number && literal_numeric_) {
      double number = 0;
      if (parse_number(value.text, &number)) return number == literal_number_;
    }
    return value.text == literal_;
  }

  // Sets `order` to the sign of (field - literal); false when the two cannot be ordered.
  bool compare(const Value& value, int* order) const {
    if (literal_level_) {
      const std::optional<Level> level = parse_level(value.text);
      if (!level) return false;
      *order = static_cast<int>(*level) - static_cast<int>(*literal_level_);
      return true;
    }
    double number = 0;
    if (literal_numeric_ && parse_number(value.text, &number)) {
      *order = number < literal_number_ ? -1 : (number > literal_number_ ? 1 : 0);
      return true;
    }
    const int c = value.text.compare(literal_);
    *order = c < 0 ? -1 : (c > 0 ? 1 : 0);
    return true;
  }

  std::string path_;
  bool plain_;  // no quoted segment: looked up without checking for one per event
  Op op_;
  std::string literal_;
  std::unique_ptr<RE2> regex_;
  bool literal_numeric_ = false;
  double literal_number_ = 0;
  std::optional<Level> literal_level_;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '@' || c == '.';
}

// Operator characters end a bare value, so `status>=500&&ok==true` splits where a reader expects.
bool is_operator_char(char c) {
  return c == '=' || c == '!' || c == '<' || c == '>' || c == '~' || c == '&' || c == '|';
}

bool is_bare_value_char(char c) {
  return !is_space(c) && c != '(' && c != ')' && c != '"' && c != '\'' && c != '=' && c != '!' &&
         c != '<' && c != '>' && c != '&' && c != '|';
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;
  }
  return true;
}

bool is_keyword(std::string_view word) {
  return equals_ignore_case(word, "and") || equals_ignore_case(word, "or") ||
         equals_ignore_case(word, "not") || equals_ignore_case(word, "exists");
}

// Parens and `not` recurse; a bound keeps a hostile config from overflowing the stack.
constexpr int kMaxDepth = 200;

class Parser {
 public:
  Parser(std::string_view text, std::string* error) : text_(text), error_(error) {}

  std::unique_ptr<Condition> parse() {
    skip_space();
    if (at_end()) return fail(0, "empty expression");
    auto root = parse_or("");
    if (!root) return nullptr;
    skip_space();
    if (!at_end()) {
      if (peek() == ')') return fail(pos_, "unexpected ')' without a matching '('");
      return fail(pos_, "expected 'and', 'or' or end of expression, found " + describe_next());
    }
    return root;
  }

 private:
  std::unique_ptr<Condition> parse_or(std::string_view context) {
    std::vector<std::unique_ptr<Condition>> children;
    auto first = parse_and(context);
    if (!first) return nullptr;
    children.push_back(std::move(first));
    while (consume_connective("or", "||")) {
      auto next = parse_and("after 'or'");
      if (!next) return nullptr;
      children.push_back(std::move(next));
    }
    if (children.size() == 1) return std::move(children.front());
    return std::make_unique<OrNode>(std::move(children));
  }

  std::unique_ptr<Condition> parse_and(std::string_view context) {
    std::vector<std::unique_ptr<Condition>> children;
    auto first = parse_unary(context);
    if (!first) return nullptr;
    children.push_back(std::move(first));
    while (consume_connective("and", "&&")) {
      auto next = parse_unary("after 'and'");
      if (!next) return nullptr;
      children.push_back(std::move(next));
    }
    if (children.size() == 1) return std::move(children.front());
    return std::make_unique<AndNode>(std::move(children));
  }

  // `context` names what came before ("after 'not'") so a missing operand is reported usefully.
  std::unique_ptr<Condition> parse_unary(std::string_view context) {
    if (++depth_ > kMaxDepth) return fail(pos_, "expression nested too deeply");
    auto result = parse_unary_inner(context);
    --depth_;
    return result;
  }

  std::unique_ptr<Condition> parse_unary_inner(std::string_view context) {
    skip_space();
    const std::string suffix = context.empty() ? "" : " " + std::string(context);
    if (at_end()) return fail(pos_, "expected a condition" + suffix);
    if (consume_not()) {
      auto child = parse_unary("after 'not'");
      if (!child) return nullptr;
      return std::make_unique<NotNode>(std::move(child));
    }
    if (peek() == '(') {
      const std::size_t open = pos_;
      ++pos_;
      auto inner = parse_or("after '('");
      if (!inner) return nullptr;
      skip_space();
      if (at_end() || peek() != ')') {
        return fail(pos_, "expected ')' to close '(' at column " + std::to_string(open + 1) +
                              ", found " + describe_next());
      }
      ++pos_;
      return inner;
    }
    return parse_compare(suffix);
  }

  std::unique_ptr<Condition> parse_compare(const std::string& suffix) {
    const std::size_t path_at = pos_;
    FieldPathScan scan = scan_field_path(text_, path_at);
    if (!scan.error.empty()) return fail(scan.error_at, scan.error);
    pos_ = scan.end;
    const std::string_view written = text_.substr(path_at, pos_ - path_at);
    if (written.empty() || is_keyword(written)) {
      pos_ = path_at;
      return fail(path_at,
                  "expected a field name, 'not' or '('" + suffix + ", found " + describe_next());
    }
    // Canonical: quotes only where a name needs them, so `"level"` reads as `level`.
    const std::string path = std::move(scan.canonical);

    skip_space();
    const std::size_t op_at = pos_;
    const std::string_view word = read_while(is_path_char);
    if (equals_ignore_case(word, "exists")) return std::make_unique<ExistsNode>(path);
    pos_ = op_at;

    const std::string_view op_text = read_while(is_operator_char);
    const std::string expected_ops = "==, !=, =~, !~, <, <=, >, >= or 'exists'";
    if (op_text.empty()) {
      return fail(op_at, "expected an operator (" + expected_ops + ") after '" +
                             std::string(written) + "', found " + describe_next());
    }
    std::optional<Op> op = operator_from(op_text);
    if (!op) {
      return fail(op_at,
                  "unknown operator '" + std::string(op_text) + "', expected " + expected_ops);
    }

    skip_space();
    const std::size_t value_at = pos_;
    std::string literal;
    if (!read_value(op_text, &literal)) return nullptr;

    // `level >= warnn` would order nothing and drop every event: a level field ordered against
    // a word that is no level name is a mistake (numbers are levels too, on the pino/syslog
    // scales, and order as numbers otherwise).
    const bool orders = *op == Op::Lt || *op == Op::Le || *op == Op::Gt || *op == Op::Ge;
    double number = 0;
    if (orders && is_level_key(path) && !parse_number(literal, &number) && !parse_level(literal)) {
      std::string message = "unknown level '" + literal + "'";
      if (std::string_view near = nearest_level_name(literal); !near.empty()) {
        message += " (did you mean '" + std::string(near) + "'?)";
      }
      return fail(value_at, message +
                                "; levels: trace, debug, info, notice, warn, error, fatal "
                                "(and their spellings: warning, err, crit, ...)");
    }

    std::unique_ptr<RE2> regex;
    if (*op == Op::Match || *op == Op::NotMatch) {
      RE2::Options options;
      options.set_log_errors(false);  // the error goes into the config message instead of stderr
      regex = std::make_unique<RE2>(literal, options);
      if (!regex->ok()) return fail(value_at, "invalid regular expression: " + regex->error());
    }
    return std::make_unique<CompareNode>(path, *op, std::move(literal), std::move(regex));
  }

  static std::optional<Op> operator_from(std::string_view text) {
    if (text == "==") return Op::Eq;
    if (text == "!=") return Op::Ne;
    if (text == "=~") return Op::Match;
    if (text == "!~") return Op::NotMatch;
    if (text == "<") return Op::Lt;
    if (text == "<=") return Op::Le;
    if (text == ">") return Op::Gt;
    if (text == ">=") return Op::Ge;
    return std::nullopt;
  }

  bool read_value(std::string_view op_text, std::string* out) {
    const std::size_t start = pos_;
    if (at_end() || !(peek() == '"' || peek() == '\'' || is_bare_value_char(peek()))) {
      fail(start,
           "expected a value after '" + std::string(op_text) + "', found " + describe_next());
      return false;
    }
    const char quote = peek();
    if (quote != '"' && quote != '\'') {
      const std::string_view word = read_while(is_bare_value_char);
      // `a != and b == 1` almost certainly lost its value; the word itself can still be quoted.
      if (is_keyword(word)) {
        pos_ = start;
        fail(start, "expected a value after '" + std::string(op_text) + "', found keyword " +
                        describe_next() + " (quote it to compare with the word)");
        return false;
      }
      *out = std::string(word);
      return true;
    }
    ++pos_;
    while (!at_end()) {
      const char c = text_[pos_++];
      if (c == quote) return true;
      // Only the quote and the backslash itself are escapes; any other backslash is kept so that
      // regex classes like "\d+" pass through to RE2 unchanged.
      if (c == '\\' && !at_end()) {
        const char next = text_[pos_];
        if (next == '"' || next == '\'' || next == '\\') {
          out->push_back(next);
          ++pos_;
          continue;
        }
      }
      out->push_back(c);
    }
    fail(start, std::string("unterminated ") + (quote == '"' ? "double" : "single") +
                    "-quoted value, expected a closing " + quote);
    return false;
  }

  bool consume_connective(std::string_view word, std::string_view symbol) {
    skip_space();
    if (text_.substr(pos_, symbol.size()) == symbol) {
      pos_ += symbol.size();
      return true;
    }
    return consume_word(word);
  }

  bool consume_not() {
    // `!` alone is negation; `!=` and `!~` are operators and belong to a comparison.
    if (peek() == '!') {
      const char next = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
      if (next != '=' && next != '~') {
        ++pos_;
        return true;
      }
      return false;
    }
    return consume_word("not");
  }

  bool consume_word(std::string_view keyword) {
    const std::size_t start = pos_;
    const std::string_view word = read_while(is_path_char);
    if (equals_ignore_case(word, keyword)) return true;
    pos_ = start;
    return false;
  }

  template <typename Pred>
  std::string_view read_while(Pred pred) {
    const std::size_t start = pos_;
    while (!at_end() && pred(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  std::string describe_next() const {
    if (at_end()) return "end of expression";
    std::size_t end = pos_;
    const char c = text_[pos_];
    if (is_path_char(c)) {
      while (end < text_.size() && is_path_char(text_[end])) ++end;
    } else if (is_operator_char(c)) {
      while (end < text_.size() && is_operator_char(text_[end])) ++end;
    } else {
      end = pos_ + 1;
    }
    constexpr std::size_t kMaxShown = 24;
    return "'" + std::string(text_.substr(pos_, std::min(end - pos_, kMaxShown))) + "'";
  }

  std::nullptr_t fail(std::size_t at, const std::string& message) {
    if (error_ && !failed_) *error_ = "column " + std::to_string(at + 1) + ": " + message;
    failed_ = true;
    return nullptr;
  }

  void skip_space() {
    while (!at_end() && is_space(text_[pos_])) ++pos_;
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  std::string_view text_;
  std::string* error_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<Condition> Condition::compile(std::string_view expression, std::string* error) {
  return Parser(expression, error).parse();
}

}  // namespace sluice
