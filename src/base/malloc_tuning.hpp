#pragma once
// How sluice asks glibc's malloc to give large blocks back to the system.
//
// glibc serves blocks of 128 KiB and more with mmap(2) and unmaps them on free, but each time
// such a block is freed it raises that threshold to the block's size (up to 32 MiB), so that
// from then on blocks of that size come from the heap arenas and stay resident after free(). A
// pipeline frees large buffers all the time (batches, parsed fields, encoded output, a page of
// the Kubernetes pod list); with every thread in its own arena, each arena kept its own peak:
// in `bench/kubernetes.sh` 110 files growing at once took 47 MiB of RSS with metadata and 28
// without, for a heap whose peak was 23 and 21 MiB. A fixed threshold keeps RSS near the heap's
// peak (31 and 25 MiB), at the cost of a few page faults when a large buffer is made anew (the
// pools reuse them; `bench/compare.sh`: throughput within noise).
namespace sluice {

inline constexpr int kMallocMmapThreshold = 128 << 10;  // glibc's default starting threshold

// Fixes the threshold at kMallocMmapThreshold, unless the GLIBC_TUNABLES given (the process's
// environment) set `glibc.malloc.mmap_threshold` themselves: the operator's choice wins. Returns
// whether it set it. Call once, early in main().
bool fix_malloc_mmap_threshold(const char* glibc_tunables);

}  // namespace sluice
