#include "core/pool.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "core/sink_runtime.hpp"
#include "core/source_runtime.hpp"

namespace sluice {
namespace {

constexpr int64_t kBudget = int64_t{1} << 20;

// A batch as a burst leaves it: `bytes` of lines read and as many bytes of fields parsed.
void fill(Batch& batch, size_t bytes) {
  batch.bytes.reserve(bytes);
  batch.fields.reserve(bytes / sizeof(Field));
}

TEST(Pool, KeptBuffersStayWithinTheByteBound) {
  // 110 files' batches of 190 KB handed out at once and given back: only what fits in the bound
  // is kept, the rest is freed instead of staying allocated as spare capacity.
  Pool<Batch> pool(128, kBudget, memory_cost);
  std::vector<Batch*> burst;
  for (int i = 0; i < 110; ++i) {
    burst.push_back(pool.acquire());
    fill(*burst.back(), 190 * 1024);
  }
  for (Batch* batch : burst) {
    batch->reset();
    pool.release(batch);
  }
  const int64_t each = memory_cost(*burst.front());
  EXPECT_LE(pool.kept_bytes(), kBudget);
  EXPECT_EQ(pool.kept(), static_cast<size_t>(kBudget / each));  // as many as fit are recycled
  EXPECT_EQ(pool.kept_bytes(), static_cast<int64_t>(pool.kept()) * each);
}

TEST(Pool, RecyclesWhatFitsAndAccountsForWhatIsHandedOut) {
  Pool<Batch> pool(128, kBudget, memory_cost);
  Batch* batch = pool.acquire();
  fill(*batch, 64 * 1024);
  const int64_t cost = memory_cost(*batch);
  pool.release(batch);
  EXPECT_EQ(pool.kept_bytes(), cost);
  EXPECT_EQ(pool.acquire(), batch);  // the same buffers again: nothing allocated
  EXPECT_EQ(pool.kept_bytes(), 0);
  EXPECT_EQ(pool.kept(), 0U);
  fill(*batch, 2 * static_cast<size_t>(kBudget));  // alone larger than the bound: freed
  pool.release(batch);
  EXPECT_EQ(pool.kept(), 0U);
  EXPECT_EQ(pool.kept_bytes(), 0);
}

TEST(Pool, EncodedBatchesAreBoundedTheSameWay) {
  Pool<EncodedBatch> pool(256, kBudget, memory_cost);
  std::vector<EncodedBatch*> burst;
  for (int i = 0; i < 20; ++i) {
    burst.push_back(pool.acquire());
    burst.back()->data.reserve(300 * 1024);
  }
  const int64_t each = memory_cost(*burst.front());
  for (EncodedBatch* batch : burst) {
    batch->reset();
    pool.release(batch);
  }
  EXPECT_LE(pool.kept_bytes(), kBudget);
  EXPECT_EQ(pool.kept(), static_cast<size_t>(kBudget / each));
}

TEST(Pool, BatchCostCountsTheArenaAndMetadata) {
  Batch batch;
  const int64_t empty = memory_cost(batch);
  batch.arena.allocate(100 * 1024);
  batch.meta.reserve(1000);
  batch.reset();  // both keep their memory for the next use
  EXPECT_GE(memory_cost(batch), empty + 100 * 1024 + 1000 * static_cast<int64_t>(sizeof(Field)));
}

}  // namespace
}  // namespace sluice
