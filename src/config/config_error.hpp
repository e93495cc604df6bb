#pragma once
// A configuration problem, located in the file. sluice reports it and exits with status 78
// (EX_CONFIG), as `sluice validate` does.
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

}  // namespace sluice
