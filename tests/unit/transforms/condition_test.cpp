#include "transforms/condition.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>

namespace sluice {
namespace {

Value Str(std::string_view text) { return Value{ValueKind::String, true, text}; }
Value Num(std::string_view text) { return Value{ValueKind::Number, false, text}; }
Value Bool(bool b) { return Value{ValueKind::Bool, false, b ? "true" : "false"}; }
Value Null() { return Value{ValueKind::Null, false, "null"}; }
Value Json(std::string_view text) { return Value{ValueKind::Json, false, text}; }

class MapLookup final : public FieldLookup {
 public:
  MapLookup(std::initializer_list<std::pair<const std::string, Value>> fields) : fields_(fields) {}
  std::optional<Value> get(std::string_view path) const override {
    const auto it = fields_.find(path);
    if (it == fields_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, Value, std::less<>> fields_;
};

std::unique_ptr<Condition> MustCompile(std::string_view expression) {
  std::string error;
  auto condition = Condition::compile(expression, &error);
  EXPECT_NE(condition, nullptr) << "expression: " << expression << "\nerror: " << error;
  EXPECT_TRUE(condition == nullptr || error.empty()) << error;
  return condition;
}

// A compile failure is reported by MustCompile, so returning false cannot hide it.
bool Eval(std::string_view expression, const FieldLookup& event) {
  const auto condition = MustCompile(expression);
  return condition != nullptr && condition->matches(event);
}

std::string CompileError(std::string_view expression) {
  std::string error;
  const auto condition = Condition::compile(expression, &error);
  EXPECT_EQ(condition, nullptr) << "expected a syntax error for: " << expression;
  EXPECT_FALSE(error.empty()) << expression;
  return error;
}

void ExpectError(std::string_view expression, std::string_view expected) {
  const std::string error = CompileError(expression);
  EXPECT_NE(error.find(expected), std::string::npos)
      << "expression: " << expression << "\nerror:    " << error << "\nexpected: " << expected;
}

TEST(Condition, Exists) {
  const MapLookup event{{"@timestamp", Str("2024-01-01")}, {"gone", Null()}};
  EXPECT_TRUE(Eval("@timestamp exists", event));
  EXPECT_TRUE(Eval("gone exists", event));  // a null field is still present
  EXPECT_FALSE(Eval("missing exists", event));
  EXPECT_TRUE(Eval("@timestamp EXISTS", event));
  EXPECT_TRUE(Eval("not missing exists", event));
}

TEST(Condition, EqualsAndNotEqualsStrings) {
  const MapLookup event{{"env", Str("prod")}, {"host", Str("web-1.eu")}};
  EXPECT_TRUE(Eval("env == prod", event));
  EXPECT_FALSE(Eval("env == Prod", event));  // text comparison is exact
  EXPECT_FALSE(Eval("env == pro", event));
  EXPECT_TRUE(Eval("env != dev", event));
  EXPECT_FALSE(Eval("env != prod", event));
  EXPECT_TRUE(Eval("host == web-1.eu", event));
  EXPECT_TRUE(Eval("host==\"web-1.eu\"", event));
}

TEST(Condition, EqualsNumbersNumerically) {
  const MapLookup a{{"status", Num("200")}};
  const MapLookup b{{"status", Num("200.0")}};
  const MapLookup c{{"status", Num("2e2")}};
  const MapLookup d{{"status", Num("201")}};
  for (const MapLookup* event : {&a, &b, &c}) {
    EXPECT_TRUE(Eval("status == 200", *event));
    EXPECT_TRUE(Eval("status == 200.00", *event));
    EXPECT_FALSE(Eval("status != 200", *event));
  }
  EXPECT_FALSE(Eval("status == 200", d));
  EXPECT_TRUE(Eval("status != 200", d));
}

TEST(Condition, EqualsStringFieldComparesText) {
  const MapLookup event{{"code", Str("200.0")}};
  EXPECT_FALSE(Eval("code == 200", event));
  EXPECT_TRUE(Eval("code == 200.0", event));
  // A non-numeric literal against a Number field falls back to text.
  const MapLookup number{{"code", Num("200")}};
  EXPECT_FALSE(Eval("code == abc", number));
}

TEST(Condition, EqualsBoolNullJson) {
  const MapLookup event{
      {"ok", Bool(true)}, {"bad", Bool(false)}, {"parent", Null()}, {"tags", Json(R"(["a","b"])")}};
  EXPECT_TRUE(Eval("ok == true", event));
  EXPECT_FALSE(Eval("ok == false", event));
  EXPECT_TRUE(Eval("bad == false", event));
  EXPECT_TRUE(Eval("ok != false", event));
  EXPECT_TRUE(Eval("parent == null", event));
  EXPECT_FALSE(Eval("parent != null", event));
  EXPECT_TRUE(Eval(R"(tags == '["a","b"]')", event));
}

TEST(Condition, EqualsLevelNameComparesText) {
  const MapLookup upper{{"level", Str("WARN")}};
  const MapLookup lower{{"level", Str("warn")}};
  EXPECT_FALSE(Eval("level == warn", upper));
  EXPECT_TRUE(Eval("level != warn", upper));
  EXPECT_TRUE(Eval("level == warn", lower));
}

TEST(Condition, RegexMatch) {
  const MapLookup event{{"path", Str("/api/v1/users/42")}, {"status", Num("503")}};
  EXPECT_TRUE(Eval("path =~ users", event));  // partial match
  EXPECT_TRUE(Eval("path =~ \"^/api/v[0-9]+/\"", event));
  EXPECT_FALSE(Eval("path =~ \"^/users\"", event));
  EXPECT_TRUE(Eval("path !~ \"^/users\"", event));
  EXPECT_FALSE(Eval("path !~ users", event));
  // Backslashes other than escapes of quotes and backslash reach RE2 unchanged.
  EXPECT_TRUE(Eval(R"(path =~ "/\d+$")", event));
  EXPECT_TRUE(Eval(R"(path =~ "/\\d+$")", event));
  EXPECT_TRUE(Eval("status =~ ^5", event));  // matches the text of any kind
}

TEST(Condition, RegexCaseInsensitiveFlag) {
  const MapLookup event{{"msg", Str("Connection TIMEOUT")}};
  EXPECT_FALSE(Eval("msg =~ timeout", event));
  EXPECT_TRUE(Eval("msg =~ \"(?i)timeout\"", event));
}

TEST(Condition, NumericOrdering) {
  const MapLookup e503{{"status", Num("503")}};
  const MapLookup e500{{"status", Num("500")}};
  const MapLookup e404{{"status", Num("404")}};
  const MapLookup str{{"status", Str("500")}};
  EXPECT_TRUE(Eval("status >= 500", e503));
  EXPECT_TRUE(Eval("status >= 500", e500));
  EXPECT_FALSE(Eval("status >= 500", e404));
  EXPECT_TRUE(Eval("status >= 500", str));
  EXPECT_TRUE(Eval("status > 500", e503));
  EXPECT_FALSE(Eval("status > 500", e500));
  EXPECT_TRUE(Eval("status < 500", e404));
  EXPECT_FALSE(Eval("status < 500", e500));
  EXPECT_TRUE(Eval("status <= 500", e500));
  EXPECT_FALSE(Eval("status <= 500", e503));
  // Numeric, not lexicographic: "1000" < "500" as strings.
  const MapLookup big{{"bytes", Num("1000")}};
  EXPECT_TRUE(Eval("bytes > 500", big));
  const MapLookup cold{{"temp", Num("-7.5")}};
  EXPECT_TRUE(Eval("temp < -5", cold));
  EXPECT_TRUE(Eval("temp >= -7.5", cold));
}

TEST(Condition, StringOrdering) {
  const MapLookup event{{"name", Str("mango")}};
  EXPECT_TRUE(Eval("name > apple", event));
  EXPECT_TRUE(Eval("name < \"zebra\"", event));
  EXPECT_TRUE(Eval("name >= mango", event));
  EXPECT_TRUE(Eval("name <= mango", event));
  EXPECT_FALSE(Eval("name < mango", event));
  // A numeric literal with a non-numeric field compares as strings: "mango" > "5".
  EXPECT_TRUE(Eval("name > 5", event));
  EXPECT_FALSE(Eval("name < 5", event));
}

TEST(Condition, LevelOrderingAcceptsManySpellings) {
  const auto at_least_warn = MustCompile("level >= warn");
  ASSERT_NE(at_least_warn, nullptr);
  for (const Value& v : {Str("ERROR"), Str("error"), Str("E"), Num("50"), Str("40"), Str("warning"),
                         Str("FATAL"), Num("3")}) {
    EXPECT_TRUE(at_least_warn->matches(MapLookup{{"level", v}})) << v.text;
  }
  for (const Value& v :
       {Str("info"), Num("30"), Str("debug"), Str("I"), Str("notice"), Num("6"), Str("banana")}) {
    EXPECT_FALSE(at_least_warn->matches(MapLookup{{"level", v}})) << v.text;
  }
}

TEST(Condition, LevelOrderingOperators) {
  const MapLookup info{{"level", Str("INFO")}};
  EXPECT_TRUE(Eval("level < warn", info));
  EXPECT_TRUE(Eval("level <= info", info));
  EXPECT_TRUE(Eval("level >= info", info));
  EXPECT_FALSE(Eval("level > info", info));
  EXPECT_TRUE(Eval("level > debug", info));
  EXPECT_TRUE(Eval("level >= WARN", MapLookup{{"level", Str("crit")}}));
  EXPECT_TRUE(Eval("level >= \"Warning\"", MapLookup{{"level", Str("err")}}));
  EXPECT_TRUE(Eval("level >= E", MapLookup{{"level", Num("60")}}));
  // Not a level: every ordering is false, even the ones that would hold lexicographically.
  const MapLookup banana{{"level", Str("banana")}};
  EXPECT_FALSE(Eval("level < warn", banana));
  EXPECT_FALSE(Eval("level > warn", banana));
  EXPECT_TRUE(Eval("level != warn", banana));
}

TEST(Condition, NumericLiteralIsNotALevel) {
  // `40` is a level number, but a purely numeric literal compares numbers.
  EXPECT_TRUE(Eval("level >= 40", MapLookup{{"level", Num("50")}}));
  EXPECT_FALSE(Eval("level >= 40", MapLookup{{"level", Num("30")}}));
  EXPECT_FALSE(Eval("level >= 4", MapLookup{{"level", Num("3")}}));
}

TEST(Condition, MissingField) {
  const MapLookup empty{};
  EXPECT_FALSE(Eval("x == 1", empty));
  EXPECT_TRUE(Eval("x != 1", empty));
  EXPECT_FALSE(Eval("x =~ a", empty));
  EXPECT_TRUE(Eval("x !~ a", empty));
  EXPECT_FALSE(Eval("x < 1", empty));
  EXPECT_FALSE(Eval("x <= 1", empty));
  EXPECT_FALSE(Eval("x > 1", empty));
  EXPECT_FALSE(Eval("x >= 1", empty));
  EXPECT_FALSE(Eval("x >= warn", empty));
  EXPECT_FALSE(Eval("x exists", empty));
  EXPECT_TRUE(Eval("not x == 1", empty));
}

TEST(Condition, AndBindsTighterThanOr) {
  const auto condition = MustCompile("a == 1 or b == 2 and c == 3");
  ASSERT_NE(condition, nullptr);
  const auto eval = [&](const char* a, const char* b, const char* c) {
    return condition->matches(MapLookup{{"a", Num(a)}, {"b", Num(b)}, {"c", Num(c)}});
  };
  EXPECT_TRUE(eval("1", "0", "0"));  // would be false as (a or b) and c
  EXPECT_FALSE(eval("0", "2", "0"));
  EXPECT_TRUE(eval("0", "2", "3"));
  EXPECT_FALSE(eval("0", "0", "3"));
}

TEST(Condition, NotBindsTighterThanAnd) {
  const MapLookup event{{"a", Num("2")}, {"b", Num("3")}};
  EXPECT_FALSE(Eval("not a == 1 and b == 2", event));  // not(a==1 and b==2) would be true
  EXPECT_TRUE(Eval("not (a == 1 and b == 2)", event));
  EXPECT_TRUE(Eval("not not a == 2", event));
}

TEST(Condition, Parentheses) {
  const MapLookup event{{"a", Num("1")}, {"b", Num("0")}, {"c", Num("0")}};
  EXPECT_FALSE(Eval("(a == 1 or b == 2) and c == 3", event));
  EXPECT_TRUE(Eval("a == 1 or (b == 2 and c == 3)", event));
  EXPECT_TRUE(Eval("((a == 1))", event));
  EXPECT_TRUE(Eval("(a==1)and(b==0)", event));
  EXPECT_TRUE(Eval("  ( a == 1 )  ", event));
}

TEST(Condition, SymbolSynonyms) {
  const MapLookup event{{"a", Num("1")}, {"b", Num("0")}, {"c", Num("0")}};
  EXPECT_TRUE(Eval("a == 1 || b == 2 && c == 3", event));
  EXPECT_FALSE(Eval("(a == 1 || b == 2) && c == 3", event));
  EXPECT_TRUE(Eval("a==1&&b==0", event));
  EXPECT_TRUE(Eval("b==5||a==1", event));
  EXPECT_FALSE(Eval("!a == 1", event));
  EXPECT_TRUE(Eval("!(b == 2)", event));
  EXPECT_TRUE(Eval("! missing exists", event));
  EXPECT_TRUE(Eval("!!a == 1", event));
  EXPECT_TRUE(Eval("a != 2 && b !~ x", event));
}

TEST(Condition, KeywordsAreCaseInsensitive) {
  const MapLookup event{{"a", Num("1")}, {"b", Num("2")}};
  EXPECT_TRUE(Eval("a == 1 AND b == 2", event));
  EXPECT_TRUE(Eval("a == 9 Or b == 2", event));
  EXPECT_TRUE(Eval("NOT a == 9", event));
  EXPECT_TRUE(Eval("a Exists", event));
}

TEST(Condition, KeywordPrefixesAreFieldNames) {
  const MapLookup event{{"notes", Str("x")}, {"order", Num("1")}, {"android", Bool(true)}};
  EXPECT_TRUE(Eval("notes == x", event));
  EXPECT_TRUE(Eval("order == 1 and android == true", event));
  EXPECT_TRUE(Eval("notes exists and android exists", event));
  ExpectError("notes exists andandroid exists", "column 14: expected 'and', 'or'");
}

TEST(Condition, QuotingAndEscapes) {
  const MapLookup event{{"msg", Str("hello world")}, {"q", Str("say \"hi\"")},
                        {"apos", Str("it's")},       {"bs", Str("C:\\temp")},
                        {"empty", Str("")},          {"kw", Str("a and b) or (c")}};
  EXPECT_TRUE(Eval("msg == \"hello world\"", event));
  EXPECT_TRUE(Eval("msg == 'hello world'", event));
  EXPECT_TRUE(Eval(R"(q == "say \"hi\"")", event));
  EXPECT_TRUE(Eval(R"(q == 'say "hi"')", event));
  EXPECT_TRUE(Eval(R"(apos == 'it\'s')", event));
  EXPECT_TRUE(Eval(R"(apos == "it's")", event));
  EXPECT_TRUE(Eval(R"(bs == "C:\\temp")", event));
  EXPECT_TRUE(Eval(R"(bs == 'C:\temp')", event));  // unknown escape keeps the backslash
  EXPECT_TRUE(Eval("empty == \"\"", event));
  EXPECT_TRUE(Eval("empty == ''", event));
  EXPECT_FALSE(Eval("msg == ''", event));
  EXPECT_TRUE(Eval("kw == 'a and b) or (c'", event));
}

TEST(Condition, QuotedLevelAndNumberLiteralsBehaveLikeBare) {
  EXPECT_TRUE(Eval("status == \"200\"", MapLookup{{"status", Num("200.0")}}));
  EXPECT_TRUE(Eval("level >= 'warn'", MapLookup{{"level", Str("ERROR")}}));
}

TEST(Condition, DottedAndSymbolicPaths) {
  const MapLookup event{{"kubernetes.pod.name", Str("x")},
                        {"@timestamp", Str("t")},
                        {"user-agent", Str("curl/8.0")},
                        {"http_status", Num("201")}};
  EXPECT_TRUE(Eval("kubernetes.pod.name == \"x\"", event));
  EXPECT_FALSE(Eval("kubernetes.pod == \"x\"", event));
  EXPECT_TRUE(Eval("@timestamp exists", event));
  EXPECT_TRUE(Eval("user-agent =~ ^curl/", event));
  EXPECT_TRUE(Eval("http_status < 300", event));
}

TEST(Condition, QuotedSegmentsReachTheLookupInCanonicalForm) {
  // Quotes stay only where a segment needs them (base/field_path.hpp), so a quoted plain name is
  // the plain name, and `level` keeps its level ordering.
  const MapLookup event{{"level", Str("error")}, {R"(labels."a.b")", Str("x")}};
  EXPECT_TRUE(Eval(R"("level" >= warn)", event));
  EXPECT_TRUE(Eval(R"("labels"."a.b" == x)", event));
  EXPECT_TRUE(Eval(R"(labels."a.b" exists)", event));
  ExpectError(R"("level" >= warnn)", "unknown level 'warnn'");
}

TEST(Condition, CompiledOnceEvaluatedMany) {
  const auto condition = MustCompile("msg =~ \"err(or)?\" and status >= 500");
  ASSERT_NE(condition, nullptr);
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(condition->matches(MapLookup{{"msg", Str("an error")}, {"status", Num("500")}}));
    EXPECT_FALSE(condition->matches(MapLookup{{"msg", Str("fine")}, {"status", Num("500")}}));
  }
}

TEST(ConditionErrors, UnknownLevelNameWithSuggestion) {
  // `level >= warnn` would silently drop every event: an error, with the near name.
  ExpectError("level >= warnn", "column 10: unknown level 'warnn' (did you mean 'warn'?)");
  ExpectError("severity > 'eror'", "did you mean 'error'?");
  ExpectError("log.level < banana", "unknown level 'banana'; levels: trace, debug");
  // Equality compares text, numbers order as numbers, other fields order as strings.
  MustCompile("level == warnn");
  MustCompile("level >= 35");
  MustCompile("status >= abc");
  MustCompile("lvl >= Warning and loglevel < crit");
}

TEST(ConditionErrors, EmptyExpression) {
  ExpectError("", "column 1: empty expression");
  ExpectError("   ", "column 1: empty expression");
}

TEST(ConditionErrors, MissingValue) {
  ExpectError("status == ", "column 11: expected a value after '=='");
  ExpectError("a ==", "column 5: expected a value after '=='");
  ExpectError("a >= )", "column 6: expected a value after '>='");
  ExpectError("a == (1)", "column 6: expected a value after '=='");
  ExpectError("a != and b == 1", "column 6: expected a value after '!=', found keyword 'and'");
  ExpectError("a == NOT", "column 6: expected a value after '==', found keyword 'NOT'");
  EXPECT_TRUE(Eval("a == 'and'", MapLookup{{"a", Str("and")}}));
  EXPECT_TRUE(Eval("a == android", MapLookup{{"a", Str("android")}}));
}

TEST(ConditionErrors, UnknownOperator) {
  ExpectError("a = 1", "column 3: unknown operator '='");
  ExpectError("a => 1", "column 3: unknown operator '=>'");
  ExpectError("a <> 1", "column 3: unknown operator '<>'");
  ExpectError("a === 1", "column 3: unknown operator '==='");
  ExpectError("a ~= 1", "column 3: unknown operator '~='");
  ExpectError("a && b", "column 3: unknown operator '&&'");
}

TEST(ConditionErrors, MissingOperator) {
  ExpectError("a", "column 2: expected an operator");
  ExpectError("a foo 1", "column 3: expected an operator");
  ExpectError("a (", "column 3: expected an operator");
  ExpectError("a \"x\"", "column 3: expected an operator");
}

TEST(ConditionErrors, UnterminatedQuotes) {
  ExpectError("msg == \"abc", "column 8: unterminated double-quoted value");
  ExpectError("msg == 'abc", "column 8: unterminated single-quoted value");
  ExpectError(R"(msg == 'abc\')", "column 8: unterminated single-quoted value");
  ExpectError(R"(msg == "abc\)", "column 8: unterminated double-quoted value");
}

TEST(ConditionErrors, TrailingTokens) {
  ExpectError("a == 1 b == 2", "column 8: expected 'and', 'or' or end of expression, found 'b'");
  ExpectError("a exists exists", "column 10: expected 'and', 'or' or end of expression");
  ExpectError("a == 'x' 'y'", "column 10: expected 'and', 'or' or end of expression");
  ExpectError("a == x y", "column 8: expected 'and', 'or'");
}

TEST(ConditionErrors, UnbalancedParentheses) {
  ExpectError("(a == 1", "column 8: expected ')' to close '(' at column 1");
  ExpectError("((a == 1)", "column 10: expected ')' to close '(' at column 1");
  ExpectError("(a == 1 b", "column 9: expected ')' to close '(' at column 1, found 'b'");
  ExpectError("a == 1)", "column 7: unexpected ')' without a matching '('");
  ExpectError("(a == 1))", "column 9: unexpected ')'");
  ExpectError("()", "column 2: expected a field name, 'not' or '(' after '('");
  ExpectError(")", "column 1: expected a field name");
}

TEST(ConditionErrors, MissingOperands) {
  ExpectError("a == 1 and", "column 11: expected a condition after 'and'");
  ExpectError("a == 1 or ", "column 11: expected a condition after 'or'");
  ExpectError("a == 1 &&", "column 10: expected a condition after 'and'");
  ExpectError("not", "column 4: expected a condition after 'not'");
  ExpectError("!", "column 2: expected a condition after 'not'");
  ExpectError("(", "column 2: expected a condition after '('");
  ExpectError("a == 1 or or b == 2", "column 11: expected a field name, 'not' or '(' after 'or'");
}

TEST(ConditionErrors, BadFieldName) {
  ExpectError("== 1", "column 1: expected a field name, 'not' or '(', found '=='");
  // Double quotes make a field name of any key (`"a.b" == 1`); single quotes do not.
  ExpectError("'a' == 1", "column 1: expected a field name");
  ExpectError("and == 1", "column 1: expected a field name, 'not' or '(', found 'and'");
  ExpectError("exists", "column 1: expected a field name");
  ExpectError("a == 1 and != 2", "column 12: expected a field name");
  ExpectError("a == 1 and $x == 2", "column 12: expected a field name");
}

TEST(ConditionErrors, BadRegex) {
  const std::string error = CompileError("a == 1 and msg =~ \"(unclosed\"");
  EXPECT_NE(error.find("column 19: invalid regular expression"), std::string::npos) << error;
  EXPECT_NE(error.find("missing )"), std::string::npos) << error;  // RE2's own message
  ExpectError("x !~ \"[a-\"", "column 6: invalid regular expression");
  ExpectError("x =~ \"a**\"", "column 6: invalid regular expression");
}

TEST(ConditionErrors, NestingIsBounded) {
  const std::string deep = std::string(100000, '(') + "a exists" + std::string(100000, ')');
  ExpectError(deep, "nested too deeply");
  ExpectError(std::string(100000, '!') + "a exists", "nested too deeply");
  const std::string fine = std::string(100, '(') + "a exists" + std::string(100, ')');
  EXPECT_TRUE(Eval(fine, MapLookup{{"a", Null()}}));
}

TEST(ConditionErrors, NullErrorPointerIsAllowed) {
  EXPECT_EQ(Condition::compile("a ==", nullptr), nullptr);
  EXPECT_NE(Condition::compile("a == 1", nullptr), nullptr);
}

}  // namespace
}  // namespace sluice
