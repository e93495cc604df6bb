#include "core/buffer_record.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

std::string flatten(const BatchRecord& record) {
  std::string out;
  for (const iovec& piece : record.pieces()) {
    out.append(static_cast<const char*>(piece.iov_base), piece.iov_len);
  }
  return out;
}

void fill(EncodedBatch& batch, bool with_templates, bool with_ids) {
  for (int i = 0; i < 3; ++i) {
    batch.data.append("{\"n\":" + std::to_string(i) + "}\n");
    batch.ends.push_back(static_cast<uint32_t>(batch.data.size()));
    if (with_ids) batch.ids.push_back(EventId{static_cast<uint64_t>(i), ~static_cast<uint64_t>(i)});
    if (with_templates) {
      for (const char* t : {"topic-", "key-"}) {
        batch.rendered.append(t + std::to_string(i));
        batch.rendered_ends.push_back(static_cast<uint32_t>(batch.rendered.size()));
      }
    }
  }
  batch.templates_per_event = with_templates ? 2 : 0;
}

TEST(BatchRecord, RoundTripsEverythingASinkReads) {
  for (bool templates : {false, true}) {
    for (bool ids : {false, true}) {
      EncodedBatch in;
      fill(in, templates, ids);
      BatchRecord record(in);
      std::string payload = flatten(record);
      EXPECT_EQ(payload.size(), record.size());
      EncodedBatch out;
      std::string error;
      ASSERT_TRUE(decode_batch_record(payload, out, &error)) << error;
      ASSERT_EQ(out.count(), 3u);
      for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(out.event(i), in.event(i));
        if (templates) {
          EXPECT_EQ(out.rendered_value(i, 0), in.rendered_value(i, 0));
          EXPECT_EQ(out.rendered_value(i, 1), in.rendered_value(i, 1));
        }
      }
      EXPECT_EQ(out.ids, in.ids);
      EXPECT_EQ(out.templates_per_event, in.templates_per_event);
    }
  }
}

TEST(BatchRecord, MalformedPayloadsAreRejectedNotTrusted) {
  EncodedBatch in;
  fill(in, true, true);
  std::string good = flatten(BatchRecord(in));
  EncodedBatch out;
  std::string error;
  // Every truncation, and a byte too many.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(decode_batch_record(good.substr(0, n), out, &error)) << n;
  }
  EXPECT_FALSE(decode_batch_record(good + "x", out, &error));
  // Another format version.
  std::string other = good;
  other[0] = 2;
  EXPECT_FALSE(decode_batch_record(other, out, &error));
  EXPECT_NE(error.find("format"), std::string::npos);
  // An event end beyond the data (the first `ends` entry follows the 24-byte header).
  std::string bad_end = good;
  bad_end[24] = static_cast<char>(0x7f);
  EXPECT_FALSE(decode_batch_record(bad_end, out, &error));
  EXPECT_EQ(out.count(), 0u);  // left reset, not half-filled
}

}  // namespace
}  // namespace sluice
