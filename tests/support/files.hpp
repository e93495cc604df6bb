#pragma once
// Small file helpers for tests: whole-file reads and writes that fail the test (not crash it)
// when the file system says no.
#include <string>
#include <vector>

namespace sluice::testing {

// The whole file, or "" (with a test failure added) when it cannot be read.
std::string read_file(const std::string& path);
// Creates or truncates `path` and writes `data`; on error adds a test failure, returns false.
bool write_file(const std::string& path, const std::string& data);
// Appends `data` to `path` (creating it), keeping the inode: what a logging program does.
bool append_file(const std::string& path, const std::string& data);
// Creates `path` empty if missing (and its parent directories), like `mkdir -p && touch`.
bool touch(const std::string& path);
// A file of the shared corpus of real logs (../shared/corpus beside the repository, as
// tests/CMakeLists.txt sets SLUICE_CORPUS_DIR); a test failure when it is missing.
std::string corpus_file(const std::string& name);
// The lines of `text`, without their '\n' terminators (a last line without one counts).
std::vector<std::string> lines_of(const std::string& text);

}  // namespace sluice::testing
