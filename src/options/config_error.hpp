#pragma once
// A configuration problem, located in the file. sluice reports it and exits with status 78
// (EX_CONFIG), as `sluice validate` does.
#include <new>
#include <stdexcept>
#include <string>

namespace sluice {

inline constexpr int kExitConfig = 78;

class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& file, int line, int column, const std::string& message)
      : std::runtime_error(format(file, line, column, message)) {}
  explicit ConfigError(const std::string& message) : std::runtime_error(message) {}

 private:
  static std::string format(const std::string& file, int line, int column,
                            const std::string& message) {
    if (line < 0) return file + ": " + message;
    return file + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " +
           message;
  }
};

// Runs `load` (reading, checking and building the config), turning every other exception into
// a ConfigError: a config that exhausts memory or trips a library's own checks (yaml-cpp, RE2,
// librdkafka) ends in a message and exit 78, never in std::terminate. `Passthrough` is an
// exception type the caller handles itself.
template <typename Passthrough = ConfigError, typename Load>
auto guard_config_errors(Load&& load) -> decltype(load()) {
  try {
    return load();
  } catch (const std::bad_alloc&) {
    throw ConfigError("out of memory while loading the configuration");
  } catch (const std::exception& e) {
    if (dynamic_cast<const ConfigError*>(&e) || dynamic_cast<const Passthrough*>(&e)) throw;
    throw ConfigError(std::string("the configuration could not be loaded: ") + e.what());
  }
}

}  // namespace sluice
