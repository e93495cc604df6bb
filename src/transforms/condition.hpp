#pragma once
// The condition language of the `filter` transform, compiled once at config load:
//
//   expr    := or
//   or      := and ( "or" and )*
//   and     := unary ( "and" unary )*
//   unary   := "not" unary | "(" expr ")" | compare
//   compare := PATH "exists"
//            | PATH ( "==" | "!=" | "=~" | "!~" | "<" | "<=" | ">" | ">=" ) VALUE
//   PATH    := a field name: letters, digits, `_`, `-`, `@`, `.` (e.g. level, kubernetes.pod.name);
//              a segment between `.`s may be double-quoted to name a key that has dots or other
//              characters, as written (kubernetes.labels."app.kubernetes.io/name", "a.b",
//              x."a.b"; `\"` and `\\` escape inside): base/field_path.hpp
//   VALUE   := "double-quoted" | 'single-quoted' | a bare word or number
//
// `&&`, `||`, `!` are accepted as synonyms of and/or/not. `=~` and `!~` take an RE2 pattern
// (partial match; compile errors are config errors). Ordering comparisons compare log levels when
// the right-hand value is a level name (`level >= warn`; the field may hold a name or number,
// see level.hpp), else numbers when both sides are numeric, else strings. A missing field makes
// every comparison false except `!=` and `!~`, which are true.
#include <memory>
#include <string>
#include <string_view>

#include "sluice/field_lookup.hpp"  // how a condition reads the event it tests

namespace sluice {

class Condition {
 public:
  virtual ~Condition() = default;
  [[nodiscard]] virtual bool matches(const FieldLookup& event) const = 0;

  // Returns nullptr and sets `error` (with the 1-based column of the problem) on a syntax error.
  static std::unique_ptr<Condition> compile(std::string_view expression, std::string* error);
};

}  // namespace sluice
