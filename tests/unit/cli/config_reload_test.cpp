// ConfigReloader: triggers that arrive while a reload runs are coalesced into exactly one more
// reload, which reads the config as it is then; none is dropped, none runs concurrently.
#include "cli/config_reload.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include "options/config_error.hpp"

namespace sluice::cli {
namespace {

using namespace std::chrono_literals;

TEST(ConfigReloader, TriggersDuringAReloadCoalesceIntoOneMoreOfTheLatestConfig) {
  // Never run: every reload reaches Pipeline::reload, which refuses it; what is counted here is
  // how often the config was loaded, and which version each load saw.
  Pipeline pipeline(PipelineOptions{}, {}, {}, {});
  std::mutex mu;
  std::condition_variable changed;
  int version = 0;
  std::vector<int> loaded;
  bool first_may_finish = false;
  int answered = 0;
  int concurrent = 0;
  int most_concurrent = 0;
  {
    ConfigReloader reloader(pipeline, [&] {
      std::unique_lock lock(mu);
      loaded.push_back(version);
      most_concurrent = std::max(most_concurrent, ++concurrent);
      changed.notify_all();
      changed.wait(lock, [&] { return first_may_finish; });
      --concurrent;
      return BuiltPipeline{};
    });
    auto done = [&](const ConfigReloader::Result&) {
      std::lock_guard lock(mu);
      ++answered;
      changed.notify_all();
    };
    reloader.request("first", done);
    {
      std::unique_lock lock(mu);
      ASSERT_TRUE(changed.wait_for(lock, 20s, [&] { return loaded.size() == 1; }));
    }
    // Five more triggers while the first reload runs, each after a new version of the file.
    for (int v = 1; v <= 5; ++v) {
      {
        std::lock_guard lock(mu);
        version = v;
      }
      reloader.request("burst", done);
    }
    {
      std::unique_lock lock(mu);
      first_may_finish = true;
      changed.notify_all();
      ASSERT_TRUE(changed.wait_for(lock, 20s, [&] { return answered == 6; }));
    }
  }
  EXPECT_EQ(loaded, (std::vector<int>{0, 5}));  // one more reload, of the latest version
  EXPECT_EQ(most_concurrent, 1);
  EXPECT_EQ(pipeline.reload_status().failures(), 2u);  // refused: the pipeline is not running
}

TEST(ConfigReloader, AnInvalidConfigIsAFailureWithItsMessage) {
  Pipeline pipeline(PipelineOptions{}, {}, {}, {});
  std::mutex mu;
  std::condition_variable changed;
  std::optional<ConfigReloader::Result> result;
  {
    ConfigReloader reloader(pipeline, []() -> BuiltPipeline {
      throw ConfigError("sluice.yaml:3:5: sink `out`: unknown option `pth`");
    });
    reloader.request("test", [&](const ConfigReloader::Result& r) {
      std::lock_guard lock(mu);
      result = r;
      changed.notify_all();
    });
    std::unique_lock lock(mu);
    ASSERT_TRUE(changed.wait_for(lock, 20s, [&] { return result.has_value(); }));
  }
  EXPECT_FALSE(result->success);
  EXPECT_EQ(result->detail, "sluice.yaml:3:5: sink `out`: unknown option `pth`");
  ReloadStatus::Last last = pipeline.reload_status().last();
  EXPECT_TRUE(last.any);
  EXPECT_FALSE(last.success);
  EXPECT_EQ(last.detail, result->detail);
}

}  // namespace
}  // namespace sluice::cli
