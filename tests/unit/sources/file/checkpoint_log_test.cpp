// The checkpoint log of a file source: a file's acknowledged offset moves with the delivery of
// its batches in order, and over lines dropped on purpose (no batch) once what was handed on
// before them is delivered.
#include <gtest/gtest.h>

#include <memory>

#include "sources/file/progress.hpp"

namespace sluice {
namespace {

TEST(CheckpointLog, DroppedLinesAreSafeAtOnceWhenNothingIsInFlight) {
  CheckpointLog log;
  auto file = std::make_shared<FileProgress>();
  log.add_unbatched(file, 120);
  EXPECT_TRUE(log.apply(0));  // nothing was ever handed on: nothing to wait for
  EXPECT_EQ(file->acked_offset, 120u);
  EXPECT_EQ(file->in_flight, 0u);
  EXPECT_TRUE(log.empty());
}

TEST(CheckpointLog, DroppedLinesWaitForTheBatchesHandedOnBeforeThem) {
  CheckpointLog log;
  auto file = std::make_shared<FileProgress>();
  auto other = std::make_shared<FileProgress>();
  const uint64_t first = log.add(file, 100);
  const uint64_t second = log.add(other, 40);
  log.add_unbatched(file, 300);
  log.add_unbatched(file, 500);  // the same run: one record
  EXPECT_EQ(file->in_flight, 2u);
  EXPECT_TRUE(log.apply(first));
  EXPECT_EQ(file->acked_offset, 100u);  // the other file's batch is not delivered yet
  EXPECT_TRUE(log.apply(second));
  EXPECT_EQ(file->acked_offset, 500u);
  EXPECT_EQ(other->acked_offset, 40u);
  EXPECT_EQ(file->in_flight, 0u);
  EXPECT_TRUE(log.empty());

  // Dropped right after a batch of its own file: they ride on that batch's record.
  const uint64_t third = log.add(file, 600);
  log.add_unbatched(file, 900);
  EXPECT_EQ(file->in_flight, 1u);
  EXPECT_TRUE(log.apply(third));
  EXPECT_EQ(file->acked_offset, 900u);
}

TEST(CheckpointLog, DroppedLinesOfOldContentDoNotMoveATruncatedFile) {
  CheckpointLog log;
  auto file = std::make_shared<FileProgress>();
  const uint64_t batch = log.add(file, 50);
  log.add_unbatched(file, 800);
  ++file->generation;  // truncated: offsets of the old content are void
  file->acked_offset = 0;
  EXPECT_FALSE(log.apply(batch));
  EXPECT_EQ(file->acked_offset, 0u);
  EXPECT_TRUE(log.empty());
}

}  // namespace
}  // namespace sluice
