#include "base/malloc_tuning.hpp"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace sluice {
namespace {

TEST(MallocTuning, OperatorsTunableWins) {
  EXPECT_FALSE(fix_malloc_mmap_threshold("glibc.malloc.mmap_threshold=65536"));
  EXPECT_FALSE(
      fix_malloc_mmap_threshold("glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=1048576"));
}

#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer's allocator replaces glibc's: there is no threshold to observe (the release
// build's run checks it).
#else
// Keeps the compiler from pairing a malloc with its free and removing both.
void* volatile g_escape = nullptr;

void* touched_block(size_t bytes) {
  void* block = std::malloc(bytes);
  std::memset(block, 1, bytes);
  g_escape = block;
  return block;
}

TEST(MallocTuning, ALargeBlockStillGoesBackToTheSystemAfterALargerOneWasFreed) {
  ASSERT_TRUE(fix_malloc_mmap_threshold(nullptr));
  ASSERT_TRUE(fix_malloc_mmap_threshold("glibc.malloc.arena_max=2"));
  // Without the fixed threshold, freeing this mmapped 8 MiB block raises the threshold to 8 MiB
  // and the 1 MiB block below comes from the heap, where it stays resident after free().
  std::free(touched_block(8 << 20));
  const size_t mapped_before = mallinfo2().hblkhd;
  void* block = touched_block(1 << 20);
  const size_t mapped_with_block = mallinfo2().hblkhd;
  std::free(block);
  EXPECT_GE(mapped_with_block, mapped_before + (1 << 20));
  EXPECT_EQ(mallinfo2().hblkhd, mapped_before);
  // Below the threshold: from the heap, as before.
  void* small = touched_block(kMallocMmapThreshold / 2);
  EXPECT_EQ(mallinfo2().hblkhd, mapped_before);
  std::free(small);
}
#endif

}  // namespace
}  // namespace sluice
