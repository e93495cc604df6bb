#pragma once
// logfmt (`level=info msg="started server" port=8080 ready`) → fields. Values stay strings, as
// logfmt has no types; a bare key is a boolean true. Quoted values may use \" \\ \n \t \r.
// A key given twice keeps its last value only.
#include <string_view>
#include <vector>

#include "sluice/arena.hpp"
#include "sluice/event.hpp"

namespace sluice {

enum class LogfmtStrictness {
  // `parser: logfmt`: any key=value pairs in the line are taken; bare words become true flags.
  Lenient,
  // `parser: auto`: the line must start with a key=value pair and every key must look like an
  // identifier (`[A-Za-z_@][A-Za-z0-9_.@/-]*`), so prose or other formats that happen to contain
  // an `=` stay plain messages.
  RequireLeadingPair,
};

// Whether `c` may start a key under RequireLeadingPair (`[A-Za-z_@]`): a line whose first
// non-blank byte is anything else is not logfmt there, and need not be tried.
inline bool is_logfmt_identifier_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '@';
}

// Returns false (leaving `fields` as it was) when the line has no key=value pair, has an
// unterminated quote, or fails the strictness rule.
bool parse_logfmt(std::string_view line, LogfmtStrictness strictness, Arena& arena,
                  std::vector<Field>& fields);

}  // namespace sluice
