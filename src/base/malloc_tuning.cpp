#include "base/malloc_tuning.hpp"

#include <malloc.h>

#include <string_view>

namespace sluice {

bool fix_malloc_mmap_threshold(const char* glibc_tunables) {
  if (glibc_tunables != nullptr &&
      std::string_view(glibc_tunables).find("glibc.malloc.mmap_threshold") !=
          std::string_view::npos) {
    return false;
  }
  // Setting it also turns off the dynamic raise (and that of the trim threshold, whose default
  // of 128 KiB then stays): mallopt returns 1 on success.
  return mallopt(M_MMAP_THRESHOLD, kMallocMmapThreshold) == 1;
}

}  // namespace sluice
