// gzip request bodies: the compressor's output is valid gzip, the stream is reused, the pool
// compresses on its own threads in parallel and drops what it has not started when destroyed.
#include "net/gzip_body.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/http_server.hpp"

namespace sluice::net {
namespace {

using sluice::testing::gunzip;

TEST(GzipBody, RoundTripWithAReusedStream) {
  std::string body;
  for (int i = 0; i < 1000; ++i) body += "{\"index\":{}}\n{\"n\":" + std::to_string(i) + "}\n";
  GzipCompressor gzip;
  ByteBuffer compressed;
  std::string error;
  ASSERT_TRUE(gzip.compress(body, compressed, &error)) << error;
  EXPECT_LT(compressed.size(), body.size() / 4);
  EXPECT_EQ(static_cast<unsigned char>(compressed.data()[0]), 0x1f);  // gzip magic
  EXPECT_EQ(gunzip(compressed.view()), body);
  // The stream is reused: a second body compresses independently.
  ASSERT_TRUE(gzip.compress("{}\n", compressed, &error));
  EXPECT_EQ(gunzip(compressed.view()), "{}\n");
}

TEST(GzipPool, CompressesOnItsThreadsInParallel) {
  std::vector<std::string> bodies(6);
  for (size_t k = 0; k < bodies.size(); ++k) bodies[k].assign(100'000, static_cast<char>('a' + k));
  std::vector<ByteBuffer> outs(bodies.size());
  std::mutex mutex;
  std::condition_variable cv;
  int arrived = 0;
  int finished = 0;
  bool together = true;
  std::vector<std::thread::id> threads;
  {
    GzipPool pool(2);
    for (size_t k = 0; k < bodies.size(); ++k) {
      pool.submit(bodies[k], &outs[k], [&, k](bool ok, const std::string& error) {
        EXPECT_TRUE(ok) << error;
        std::unique_lock lock(mutex);
        threads.push_back(std::this_thread::get_id());
        // The first two jobs wait for each other: with one thread (or compression on the
        // caller's thread) the first would wait alone until the timeout.
        if (k < 2 && ++arrived == 2) cv.notify_all();
        if (k < 2 && !cv.wait_for(lock, std::chrono::seconds(5), [&] { return arrived == 2; })) {
          together = false;
        }
        ++finished;
        cv.notify_all();
      });
    }
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10),
                            [&] { return finished == static_cast<int>(bodies.size()); }));
  }
  EXPECT_TRUE(together);
  for (std::thread::id id : threads) EXPECT_NE(id, std::this_thread::get_id());
  for (size_t k = 0; k < bodies.size(); ++k) EXPECT_EQ(gunzip(outs[k].view()), bodies[k]) << k;
}

TEST(GzipPool, DropsJobsNotStartedWhenDestroyed) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ByteBuffer first;
  ByteBuffer second;
  std::atomic<int> done{0};
  std::thread releaser;
  {
    GzipPool pool(1);
    // The only thread waits in the first job's `done` until the pool is being destroyed.
    std::promise<void> started;
    pool.submit("a", &first, [&](bool, const std::string&) {
      started.set_value();
      released.wait();
      ++done;
    });
    pool.submit("b", &second, [&](bool, const std::string&) { ++done; });
    started.get_future().wait();
    releaser = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      release.set_value();
    });
  }
  releaser.join();
  EXPECT_EQ(done.load(), 1);
}

}  // namespace
}  // namespace sluice::net
