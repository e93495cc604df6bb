// sluice_gen_corpus: writes the end-to-end benchmark corpus (bench/e2e.sh).
//
//   sluice_gen_corpus OUT BYTES [SEED] [json|logfmt]
//
// Writes complete lines of about 200 bytes (bench/corpus_lines.hpp) to OUT until at least BYTES
// bytes, then prints the number of lines to stdout. The same BYTES and SEED always give the same
// file. OUT is written under a temporary name and renamed when complete, so an interrupted run
// never leaves a truncated corpus behind.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "corpus_lines.hpp"

namespace {

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

int usage() {
  std::fprintf(stderr, "usage: sluice_gen_corpus OUT BYTES [SEED] [json|logfmt]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 5) return usage();
  const std::string out = argv[1];
  char* end = nullptr;
  const unsigned long long bytes = std::strtoull(argv[2], &end, 10);
  if (*end != '\0' || bytes == 0) return usage();
  uint64_t seed = 1;
  if (argc >= 4) {
    seed = std::strtoull(argv[3], &end, 10);
    if (*end != '\0') return usage();
  }
  bool logfmt = false;
  if (argc == 5) {
    if (std::strcmp(argv[4], "logfmt") == 0) {
      logfmt = true;
    } else if (std::strcmp(argv[4], "json") != 0) {
      return usage();
    }
  }

  const std::string tmp = out + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "sluice_gen_corpus: %s: %s\n", tmp.c_str(), std::strerror(errno));
    return 1;
  }
  constexpr size_t kChunk = 4 << 20;
  auto buffer = std::make_unique<char[]>(kChunk + sluice::bench::kMaxLineBytes + 1);
  sluice::bench::Rng rng(seed);
  unsigned long long written = 0;
  uint64_t lines = 0;
  size_t used = 0;
  while (written + used < bytes) {
    char* p = buffer.get() + used;
    size_t n = logfmt ? sluice::bench::make_logfmt_line(rng, lines, p)
                      : sluice::bench::make_json_line(rng, lines, p);
    p[n] = '\n';
    used += n + 1;
    ++lines;
    if (used >= kChunk) {
      if (!write_all(fd, buffer.get(), used)) break;
      written += used;
      used = 0;
    }
  }
  bool ok = (used == 0 || write_all(fd, buffer.get(), used));
  written += used;
  ok = ok && written >= bytes;
  if (::close(fd) != 0) ok = false;
  if (!ok || std::rename(tmp.c_str(), out.c_str()) != 0) {
    std::fprintf(stderr, "sluice_gen_corpus: writing %s failed: %s\n", out.c_str(),
                 std::strerror(errno));
    ::unlink(tmp.c_str());
    return 1;
  }
  std::printf("%llu\n", static_cast<unsigned long long>(lines));
  return 0;
}
