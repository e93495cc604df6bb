#pragma once
// Credentials must never reach sluice's logs, its error messages or `validate`'s output. Two
// mechanisms, used everywhere text leaves the process (log::emit, the config error printers):
//   - a secret option's value is remembered when the config reader reads it, and every later
//     occurrence of it in any text is replaced by `***` (this also covers librdkafka's own log
//     lines, which are forwarded through log::emit);
//   - URLs in a text lose their user-info password (`kafka://user:***@host`) and the values of
//     query parameters with secret names (`?auth.password=***`).
// Which options are secret: those their schema marks `secret` (options/descriptor.hpp), and every
// option and passthrough property (librdkafka) that is_secret_name() marks by its name.
#include <string>
#include <string_view>

namespace sluice::secrets {

inline constexpr std::string_view kMask = "***";

// True for option and property names that hold credentials: names containing `password`,
// `passwd`, `secret`, `api_key`, `apikey`, `token`, `credential` or `private_key`, and the
// librdkafka families `sasl.*` and `ssl.key.*` (with or without a prefix such as
// `librdkafka.`). Case-insensitive.
bool is_secret_name(std::string_view name);

// Remembers a secret value so that redact() masks it from now on. Values shorter than
// kMinRemembered bytes are not remembered: masking every "ab" would make logs unreadable; sluice
// never prints a secret option's value itself, short or not.
inline constexpr size_t kMinRemembered = 4;
void remember(std::string_view value);

// `text` with every remembered secret and every URL credential masked.
std::string redact(std::string_view text);
// The same, in place; does nothing (and allocates nothing) when there is nothing to mask.
void redact_in_place(std::string& text);

// One URL for a message: the user-info password masked (`scheme://user:***@host`, or
// `scheme://***@host` for a user-info without `:`), and the values of query parameters with
// secret names.
std::string redact_url(std::string_view url);

// Forgets every remembered value (tests).
void forget_all_for_testing();

}  // namespace sluice::secrets
