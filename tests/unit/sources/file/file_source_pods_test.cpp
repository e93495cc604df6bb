// A container source with pod metadata: files looked up in a pod cache filled by the test (the
// API client's job in sluice), the pod's fields in each file's origin, pins while the file is
// read, the hints (exclude, parser, multiline), the namespace and self filters, and the bounded
// wait of a file whose pod is not in the cache yet (on a clock the test moves).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "sources/container/kube_options.hpp"
#include "sources/container/pod_cache.hpp"
#include "sources/file/file_source.hpp"
#include "support/temp_dir.hpp"

namespace sluice {
namespace {

constexpr auto kPatience = std::chrono::seconds(10);
const std::string kContainerId(64, 'c');

struct Seen {
  std::string line;
  std::shared_ptr<const Origin> origin;
};

// Keeps every pushed event's line with its batch's origin.
class CollectingContext final : public SourceContext {
 public:
  Batch* acquire() override { return new Batch(); }
  void push(Batch* batch) override {
    {
      std::lock_guard lock(mutex_);
      for (const Event& e : batch->events) seen_.push_back({std::string(e.line), batch->origin});
    }
    changed_.notify_all();
    delete batch;
  }
  void release(Batch* batch) override { delete batch; }
  [[nodiscard]] uint64_t acknowledged_checkpoint() const override { return 0; }
  bool wait_for_acks(int64_t) override { return true; }
  [[nodiscard]] int64_t shutdown_deadline_ns() const override { return 0; }

  // The first event whose line is `line`, waiting for it (bounded).
  std::optional<Seen> wait_for(const std::string& line) {
    std::unique_lock lock(mutex_);
    std::optional<Seen> found;
    changed_.wait_for(lock, kPatience, [&] {
      for (const Seen& s : seen_) {
        if (s.line == line) found = s;
      }
      return found.has_value();
    });
    return found;
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Seen> seen_;
};

std::string field(const Origin& origin, const std::string& key) {
  for (const auto& [k, v] : origin.fields) {
    if (k == key) return v;
  }
  return "<none>";
}

std::string cri(const std::string& message) {
  return "2026-12-07T10:00:00.000000000Z stdout F " + message + "\n";
}

class FileSourcePods : public ::testing::Test {
 protected:
  FileSourcePods() { options_->enabled = kube::Enabled::On; }

  // kubelet's symlink name for a container of a pod: the pod is looked up by namespace/name.
  std::string log_file(const std::string& ns, const std::string& pod, const std::string& container,
                       const std::vector<std::string>& messages) {
    std::string path = tmp_.at(pod + "_" + ns + "_" + container + "-" + kContainerId + ".log");
    std::ofstream out(path);
    for (const std::string& m : messages) out << cri(m);
    return path;
  }
  static kube::PodPtr pod(const std::string& ns, const std::string& name, const std::string& uid,
                          const std::function<void(kube::PodMetadata&)>& more = {}) {
    auto p = std::make_shared<kube::PodMetadata>();
    p->namespace_name = ns;
    p->name = name;
    p->uid = uid;
    p->ip = "10.1.2.3";
    p->node = "node-1";
    p->labels = {{"app", "web"}, {"app.kubernetes.io/name", "web-ui"}};
    p->owner_kind = kube::OwnerKind::ReplicaSet;
    p->owner_name = "web-7d9f8b6c5d";
    p->owner_parent = "web";
    p->images = {{"main", "registry.example/web:1.2"}};
    if (more) more(*p);
    return p;
  }
  FileSourceOptions source_options(bool follow) {
    FileSourceOptions o;
    o.name = "pods";
    o.include = {tmp_.at("*.log")};
    o.read_from_end = false;
    o.checkpoints = false;
    o.inotify = false;
    o.stop_at_eof = !follow;
    o.glob_interval_ns = 10'000'000;
    o.poll_interval_ns = 5'000'000;
    o.data_dir = tmp_.path();
    o.tail.container = true;
    o.kube = options_;
    return o;
  }
  // Reads every file once (stop_at_eof) with the cache as it is; the source stays alive (its
  // files pinned) until `source_` is reset.
  void read_all() {
    source_ = std::make_unique<FileSource>(source_options(false));
    source_->use_pods(cache_);
    std::string error;
    ASSERT_TRUE(source_->start(&error)) << error;
    source_->run(ctx_);
  }

  testing::TempDir tmp_{"sluice-file-pods"};
  std::shared_ptr<kube::KubeOptions> options_ = std::make_shared<kube::KubeOptions>();
  std::shared_ptr<kube::PodCache> cache_ = std::make_shared<kube::PodCache>();
  CollectingContext ctx_;
  std::unique_ptr<FileSource> source_;
};

TEST_F(FileSourcePods, EventsCarryTheirPodsMetadataAndThePodIsPinnedWhileTheFileIsRead) {
  cache_->upsert(pod("shop", "web-7d9f8b6c5d-x2x9z", "uid-web"));
  log_file("shop", "web-7d9f8b6c5d-x2x9z", "main", {"hello from web"});
  log_file("shop", "unknown-pod", "main", {"hello from nowhere"});
  read_all();

  std::optional<Seen> web = ctx_.wait_for("hello from web");
  ASSERT_TRUE(web && web->origin);
  const Origin& o = *web->origin;
  EXPECT_EQ(field(o, "kubernetes.pod.name"), "web-7d9f8b6c5d-x2x9z");
  EXPECT_EQ(field(o, "kubernetes.pod.uid"), "uid-web");
  EXPECT_EQ(field(o, "kubernetes.pod.ip"), "10.1.2.3");
  EXPECT_EQ(field(o, "kubernetes.namespace"), "shop");
  EXPECT_EQ(field(o, "kubernetes.node.name"), "node-1");
  EXPECT_EQ(field(o, "kubernetes.deployment.name"), "web");
  EXPECT_EQ(field(o, "kubernetes.replicaset.name"), "web-7d9f8b6c5d");
  EXPECT_EQ(field(o, "kubernetes.container.name"), "main");
  EXPECT_EQ(field(o, "container.id"), kContainerId);
  EXPECT_EQ(field(o, "container.image.name"), "registry.example/web:1.2");
  // Every `kubernetes.*` field adjacent (one JSON object), `container.*` after them.
  std::vector<std::string> keys;
  for (const auto& [k, v] : o.fields) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "kubernetes.pod.name", "kubernetes.pod.uid", "kubernetes.pod.ip",
                      "kubernetes.namespace", "kubernetes.container.name", "kubernetes.node.name",
                      "kubernetes.deployment.name", "kubernetes.replicaset.name", "container.id",
                      "container.image.name"}));
  const OriginMap* labels = o.find_map("kubernetes.labels");
  ASSERT_NE(labels, nullptr);
  EXPECT_EQ(labels->entries,
            (kube::StringPairs{{"app", "web"}, {"app.kubernetes.io/name", "web-ui"}}));
  EXPECT_EQ(o.parser, nullptr);  // no hint: the source's parser

  // Unknown pod (and no wait when reading once): the path's metadata, and a counted miss.
  std::optional<Seen> nowhere = ctx_.wait_for("hello from nowhere");
  ASSERT_TRUE(nowhere && nowhere->origin);
  EXPECT_EQ(field(*nowhere->origin, "kubernetes.pod.name"), "unknown-pod");
  EXPECT_EQ(field(*nowhere->origin, "kubernetes.pod.uid"), "<none>");
  EXPECT_EQ(nowhere->origin->find_map("kubernetes.labels"), nullptr);
  EXPECT_EQ(source_->pod_counters().misses, 1u);

  // Deleted from the API while its file is open: kept, until the file is let go.
  cache_->remove("uid-web");
  EXPECT_EQ(cache_->deleted_size(), 1u);
  EXPECT_NE(cache_->find_uid("uid-web"), nullptr);
  source_.reset();
  EXPECT_EQ(cache_->deleted_size(), 0u);
  EXPECT_EQ(cache_->find_uid("uid-web"), nullptr);
}

TEST_F(FileSourcePods, PodDirectoryFilesAreLookedUpByUid) {
  const std::string kOldUid = "0b3c1f9e-2a4d-4c5e-9f1a-7e6d5c4b3a21";
  const std::string kNewUid = "7f00aa11-2a4d-4c5e-9f1a-7e6d5c4b3a21";
  // Two pods of one name (a StatefulSet's pod recreated): the path's uid picks the right one.
  cache_->upsert(pod("db", "pg-0", kOldUid, [](kube::PodMetadata& p) { p.ip = "10.0.0.1"; }));
  cache_->remove(kOldUid);
  cache_->upsert(pod("db", "pg-0", kNewUid, [](kube::PodMetadata& p) { p.ip = "10.0.0.2"; }));
  const std::string dir = "pods/db_pg-0_" + kNewUid + "/postgres";
  std::filesystem::create_directories(tmp_.at(dir));
  std::ofstream(tmp_.at(dir + "/0.log")) << cri("ready");
  FileSourceOptions o = source_options(false);
  o.include = {tmp_.at("pods/*/*/*.log")};
  FileSource source(o);
  source.use_pods(cache_);
  std::string error;
  ASSERT_TRUE(source.start(&error)) << error;
  source.run(ctx_);
  std::optional<Seen> ready = ctx_.wait_for("ready");
  ASSERT_TRUE(ready && ready->origin);
  EXPECT_EQ(field(*ready->origin, "kubernetes.pod.uid"), kNewUid);
  EXPECT_EQ(field(*ready->origin, "kubernetes.pod.ip"), "10.0.0.2");
}

TEST_F(FileSourcePods, HintsChooseTheParserPerPodAndPerContainer) {
  cache_->upsert(pod("shop", "api-1", "uid-api", [](kube::PodMetadata& p) {
    p.hints.parser = "logfmt";
    p.hints.container_parsers = {{"proxy", "clf"}};
  }));
  cache_->upsert(pod("shop", "odd-1", "uid-odd", [](kube::PodMetadata& p) {
    p.hints.parser = "yaml";  // unknown: the source's own parser
  }));
  log_file("shop", "api-1", "main", {"level=info msg=hi"});
  log_file("shop", "api-1", "proxy",
           {"127.0.0.1 - - [07/Dec/2026:10:00:00 +0000] \"GET /\" 200 1"});
  log_file("shop", "odd-1", "main", {"odd line"});
  read_all();

  std::optional<Seen> main = ctx_.wait_for("level=info msg=hi");
  ASSERT_TRUE(main && main->origin && main->origin->parser);
  EXPECT_EQ(main->origin->parser->options().kind, ParserKind::Logfmt);
  std::optional<Seen> proxy =
      ctx_.wait_for("127.0.0.1 - - [07/Dec/2026:10:00:00 +0000] \"GET /\" 200 1");
  ASSERT_TRUE(proxy && proxy->origin && proxy->origin->parser);
  EXPECT_EQ(proxy->origin->parser->options().kind, ParserKind::Clf);
  std::optional<Seen> odd = ctx_.wait_for("odd line");
  ASSERT_TRUE(odd && odd->origin);
  EXPECT_EQ(odd->origin->parser, nullptr);
}

TEST_F(FileSourcePods, HintedParserKeepsTheSourcesOtherParserSettings) {
  cache_->upsert(
      pod("shop", "api-1", "uid-api", [](kube::PodMetadata& p) { p.hints.parser = "json"; }));
  log_file("shop", "api-1", "main", {"{\"a\":1}"});
  FileSourceOptions o = source_options(false);
  o.parser.kind = ParserKind::Logfmt;
  o.parser.target = "app";
  FileSource source(o);
  source.use_pods(cache_);
  std::string error;
  ASSERT_TRUE(source.start(&error)) << error;
  source.run(ctx_);
  std::optional<Seen> seen = ctx_.wait_for("{\"a\":1}");
  ASSERT_TRUE(seen && seen->origin && seen->origin->parser);
  EXPECT_EQ(seen->origin->parser->options().kind, ParserKind::Json);
  EXPECT_EQ(seen->origin->parser->options().target, "app");
}

TEST_F(FileSourcePods, MultilineHintJoinsThatPodsRecordsOnly) {
  const std::vector<std::string> trace = {
      "Exception in thread \"main\" java.lang.IllegalStateException: boom",
      "\tat com.example.App.run(App.java:42)", "\tat com.example.App.main(App.java:7)"};
  cache_->upsert(
      pod("shop", "java-1", "uid-java", [](kube::PodMetadata& p) { p.hints.multiline = "java"; }));
  cache_->upsert(pod("shop", "plain-1", "uid-plain"));
  log_file("shop", "java-1", "main", trace);
  log_file("shop", "plain-1", "main", trace);
  read_all();
  std::vector<Seen> seen = ctx_.seen();
  size_t java = 0, plain = 0;
  for (const Seen& s : seen) {
    const std::string pod_name = field(*s.origin, "kubernetes.pod.name");
    (pod_name == "java-1" ? java : plain) += 1;
    if (pod_name == "java-1") {
      EXPECT_EQ(s.line, trace[0] + "\n" + trace[1] + "\n" + trace[2]);
    }
  }
  EXPECT_EQ(java, 1u);   // one record
  EXPECT_EQ(plain, 3u);  // the source has no multiline: three lines
}

TEST_F(FileSourcePods, ExcludedPodsLinesAreCountedAndDroppedNamespacesAndSelfNotRead) {
  cache_->upsert(
      pod("shop", "secret-1", "uid-secret", [](kube::PodMetadata& p) { p.hints.exclude = true; }));
  cache_->upsert(pod("shop", "web-1", "uid-web"));
  cache_->upsert(pod("kube-system", "dns-1", "uid-dns"));
  cache_->upsert(pod("logging", "sluice-x", "uid-self"));
  log_file("shop", "secret-1", "main", {"secret a", "secret a2", "secret a3"});
  log_file("shop", "secret-1", "sidecar", {"secret b"});
  log_file("shop", "web-1", "main", {"web line"});
  log_file("kube-system", "dns-1", "main", {"dns line"});
  log_file("logging", "sluice-x", "main", {"own line"});
  options_->namespaces.exclude = {"kube-*"};
  options_->self = kube::SelfPod{"logging", "sluice-x", "POD_NAME"};
  read_all();
  ASSERT_TRUE(ctx_.wait_for("web line"));
  std::vector<std::string> lines;
  for (const Seen& s : ctx_.seen()) lines.push_back(s.line);
  EXPECT_EQ(lines, std::vector<std::string>{"web line"});
  // Every line of both of the excluded pod's files, counted as the source's drops.
  EXPECT_EQ(source_->pod_counters().excluded_events, 4u);
  EXPECT_EQ(source_->dropped_events(),
            (std::vector<std::pair<std::string, uint64_t>>{{"excluded", 4}}));

  // With hints off, the exclude annotation means nothing; with the filters off, all is read.
  options_->hints = false;
  options_->namespaces = {};
  options_->exclude_self = false;
  source_.reset();
  CollectingContext all;
  FileSource source(source_options(false));
  source.use_pods(cache_);
  std::string error;
  ASSERT_TRUE(source.start(&error)) << error;
  source.run(all);
  EXPECT_EQ(all.seen().size(), 7u);
  EXPECT_TRUE(source.dropped_events().empty());
}

TEST_F(FileSourcePods, NamespaceIncludeGlobs) {
  log_file("prod-eu", "a-1", "main", {"prod eu"});
  log_file("staging", "b-1", "main", {"staging"});
  options_->namespaces.include = {"prod-*"};
  read_all();  // no pods in the cache: the filter needs only the path
  std::vector<std::string> lines;
  for (const Seen& s : ctx_.seen()) lines.push_back(s.line);
  EXPECT_EQ(lines, std::vector<std::string>{"prod eu"});
}

// At a restart, the deleted pods kept in data_dir are loaded before the first scan; the files
// that cannot be opened yet (max_open_files reached) must keep their pods too, not only the
// files opened by that scan.
TEST_F(FileSourcePods, KeptDeletedPodsStayForFilesWaitingForADescriptor) {
  for (const std::string name : {"job-a", "job-b", "job-c", "job-d"}) {
    auto kept = std::make_shared<kube::PodMetadata>(*pod("batch", name, "uid-" + name));
    kept->deleted = true;  // as load_deleted() gives them
    cache_->upsert(std::move(kept));
  }
  // job-d's files were read to their end and are gone: nothing keeps its pod.
  for (const std::string name : {"job-a", "job-b", "job-c"}) {
    log_file("batch", name, "main", {"last words of " + name});
  }
  FileSourceOptions options = source_options(false);
  options.max_open_files = 1;
  source_ = std::make_unique<FileSource>(options);
  source_->use_pods(cache_);
  std::string error;
  ASSERT_TRUE(source_->start(&error)) << error;
  source_->run(ctx_);

  for (const std::string name : {"job-a", "job-b", "job-c"}) {
    std::optional<Seen> seen = ctx_.wait_for("last words of " + name);
    ASSERT_TRUE(seen && seen->origin) << name;
    EXPECT_EQ(field(*seen->origin, "kubernetes.pod.uid"), "uid-" + name);
    EXPECT_NE(seen->origin->find_map("kubernetes.labels"), nullptr) << name;
  }
  EXPECT_EQ(source_->pod_counters().misses, 0u);
  EXPECT_EQ(cache_->find_uid("uid-job-d"), nullptr);
  EXPECT_EQ(cache_->deleted_size(), 3u);  // pinned by their (read, closed) files
  source_.reset();
  EXPECT_EQ(cache_->deleted_size(), 0u);
}

// Follows the files on a thread of its own, with the wait's clock in the test's hands.
class HeldFiles : public FileSourcePods {
 protected:
  void start() {
    source_ = std::make_unique<FileSource>(source_options(true));
    source_->use_pods(cache_, [this](const std::string& ns, const std::string& name) {
      std::lock_guard lock(mutex_);
      requests_.push_back(ns + "/" + name);
    });
    source_->set_pod_clock([this] { return clock_.load(); });
    std::string error;
    ASSERT_TRUE(source_->start(&error)) << error;
    thread_ = std::thread([this] { source_->run(ctx_); });
  }
  ~HeldFiles() override {
    if (thread_.joinable()) {
      source_->stop();
      thread_.join();
    }
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  bool wait_for_request() {
    auto until = std::chrono::steady_clock::now() + kPatience;
    while (requests().empty() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return !requests().empty();
  }
  std::atomic<int64_t> clock_{1'000'000'000'000};
  std::mutex mutex_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

TEST_F(HeldFiles, AFileWaitsForItsPodWithoutHoldingBackOthers) {
  cache_->upsert(pod("shop", "known-1", "uid-known"));
  log_file("shop", "late-1", "main", {"late line"});
  log_file("shop", "known-1", "main", {"known line"});
  start();
  // The other file is read while the late pod's file waits (the clock stands still: it cannot
  // have been let go yet).
  ASSERT_TRUE(ctx_.wait_for("known line"));
  for (const Seen& s : ctx_.seen()) EXPECT_NE(s.line, "late line");
  clock_ += FileSource::kPodWaitNs - 1;
  // The loop has looked again (it reads the known file's new line after a look at the held one).
  log_file("shop", "known-1", "main", {"known again"});
  ASSERT_TRUE(ctx_.wait_for("known again"));
  EXPECT_TRUE(requests().empty());  // the watch has the whole wait to bring the pod

  clock_ += 1;
  ASSERT_TRUE(wait_for_request());
  EXPECT_EQ(requests(), std::vector<std::string>{"shop/late-1"});

  // The GET's answer (or the watch) brings the pod: the file is read with its metadata.
  cache_->upsert(pod("shop", "late-1", "uid-late"));
  std::optional<Seen> late = ctx_.wait_for("late line");
  ASSERT_TRUE(late && late->origin);
  EXPECT_EQ(field(*late->origin, "kubernetes.pod.uid"), "uid-late");
  EXPECT_NE(late->origin->find_map("kubernetes.labels"), nullptr);
  EXPECT_EQ(source_->pod_counters().misses, 0u);
  EXPECT_EQ(source_->pod_counters().gets, 1u);
}

TEST_F(HeldFiles, PastTheWaitTheFileIsReadWithPathMetadataAndTheMissCounted) {
  cache_->upsert(pod("shop", "known-1", "uid-known"));
  log_file("shop", "ghost-1", "main", {"ghost line"});
  log_file("shop", "known-1", "main", {"known line"});
  start();
  // The first scan has found both files: the ghost's waits from the clock's time then.
  ASSERT_TRUE(ctx_.wait_for("known line"));
  clock_ += FileSource::kPodWaitNs;
  ASSERT_TRUE(wait_for_request());
  for (const Seen& s : ctx_.seen()) EXPECT_NE(s.line, "ghost line");
  // The GET's answer never comes (the test's requester answers nothing): given up after a while.
  clock_ += FileSource::kPodGetWaitNs;
  std::optional<Seen> ghost = ctx_.wait_for("ghost line");
  ASSERT_TRUE(ghost && ghost->origin);
  EXPECT_EQ(field(*ghost->origin, "kubernetes.pod.name"), "ghost-1");
  EXPECT_EQ(field(*ghost->origin, "kubernetes.namespace"), "shop");
  EXPECT_EQ(field(*ghost->origin, "kubernetes.pod.uid"), "<none>");
  EXPECT_EQ(source_->pod_counters().misses, 1u);
  EXPECT_EQ(requests().size(), 1u);  // one GET, not one per look
}

TEST_F(HeldFiles, LabelChangesReachFilesAlreadyOpen) {
  cache_->upsert(pod("shop", "web-1", "uid-web"));
  std::string path = log_file("shop", "web-1", "main", {"first"});
  start();
  ASSERT_TRUE(ctx_.wait_for("first"));
  cache_->upsert(pod("shop", "web-1", "uid-web", [](kube::PodMetadata& p) {
    p.labels = {{"app", "web"}, {"version", "v2"}};
  }));
  // Written until a line carries the new labels (a rescan replaces the origin), boundedly.
  std::optional<Seen> seen;
  for (int i = 0; i < 500; ++i) {
    std::ofstream(path, std::ios::app) << cri("line " + std::to_string(i));
    seen = ctx_.wait_for("line " + std::to_string(i));
    ASSERT_TRUE(seen && seen->origin);
    const OriginMap* labels = seen->origin->find_map("kubernetes.labels");
    ASSERT_NE(labels, nullptr);
    if (labels->entries.size() == 2 && labels->entries[1].first == "version") break;
  }
  const OriginMap* labels = seen->origin->find_map("kubernetes.labels");
  EXPECT_EQ(labels->entries, (kube::StringPairs{{"app", "web"}, {"version", "v2"}}));
}

// Appends a line, then waits (bounded) until it was either handed on or counted as dropped:
// true when handed on.
class HintChanges : public HeldFiles {
 protected:
  bool write_and_settle(const std::string& path, const std::string& line) {
    const uint64_t dropped_before = source_->pod_counters().excluded_events;
    std::ofstream(path, std::ios::app) << cri(line);
    const auto until = std::chrono::steady_clock::now() + kPatience;
    while (std::chrono::steady_clock::now() < until) {
      for (const Seen& s : ctx_.seen()) {
        if (s.line == line) return true;
      }
      if (source_->pod_counters().excluded_events > dropped_before) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ADD_FAILURE() << "neither handed on nor dropped: " << line;
    return false;
  }
  // Probe lines until one goes the way `handed_on` says; returns how many went the other way.
  uint64_t probe_until(const std::string& path, bool handed_on, const std::string& prefix) {
    for (uint64_t i = 0; i < 500; ++i) {
      if (write_and_settle(path, prefix + std::to_string(i)) == handed_on) return i;
    }
    ADD_FAILURE() << "the hint change never took effect";
    return 0;
  }
};

TEST_F(HintChanges, ExclusionReachesAnOpenFileAndItsLiftingResumesWhereReadingIs) {
  cache_->upsert(pod("shop", "web-1", "uid-web"));
  const std::string path = log_file("shop", "web-1", "main", {"before"});
  start();
  ASSERT_TRUE(ctx_.wait_for("before"));
  cache_->upsert(
      pod("shop", "web-1", "uid-web", [](kube::PodMetadata& p) { p.hints.exclude = true; }));
  // Lines written before the change took effect are handed on; from the first dropped one on,
  // every line is dropped and counted.
  const uint64_t handed_on_before = probe_until(path, false, "excluding ");
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(write_and_settle(path, "secret " + std::to_string(i)));
  EXPECT_EQ(source_->pod_counters().excluded_events, 6u);

  cache_->upsert(pod("shop", "web-1", "uid-web"));  // the annotation removed
  const uint64_t dropped_after = probe_until(path, true, "lifting ");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(write_and_settle(path, "after " + std::to_string(i)));
  EXPECT_EQ(source_->pod_counters().excluded_events, 6u + dropped_after);
  // Every line once, handed on or dropped: nothing read again from where the exclusion began.
  std::vector<std::string> lines;
  for (const Seen& s : ctx_.seen()) lines.push_back(s.line);
  EXPECT_EQ(lines.size(), 1 + handed_on_before + 1 + 3);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "before"), 1);
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& l) { return l.starts_with("secret"); }),
            0);
}

TEST_F(HintChanges, AParserHintChangeReachesAnOpenFile) {
  cache_->upsert(pod("shop", "api-1", "uid-api"));
  const std::string path = log_file("shop", "api-1", "main", {"level=info msg=first"});
  start();
  std::optional<Seen> first = ctx_.wait_for("level=info msg=first");
  ASSERT_TRUE(first && first->origin);
  EXPECT_EQ(first->origin->parser, nullptr);
  cache_->upsert(
      pod("shop", "api-1", "uid-api", [](kube::PodMetadata& p) { p.hints.parser = "logfmt"; }));
  std::optional<Seen> seen;
  for (int i = 0; i < 500; ++i) {
    const std::string line = "level=info n=" + std::to_string(i);
    std::ofstream(path, std::ios::app) << cri(line);
    seen = ctx_.wait_for(line);
    ASSERT_TRUE(seen && seen->origin);
    if (seen->origin->parser) break;
  }
  ASSERT_TRUE(seen->origin->parser);
  EXPECT_EQ(seen->origin->parser->options().kind, ParserKind::Logfmt);
  EXPECT_EQ(field(*seen->origin, "kubernetes.pod.uid"), "uid-api");  // its metadata kept
  // The hint removed: the source's own parser again.
  cache_->upsert(pod("shop", "api-1", "uid-api"));
  for (int i = 0; i < 500; ++i) {
    const std::string line = "level=info m=" + std::to_string(i);
    std::ofstream(path, std::ios::app) << cri(line);
    seen = ctx_.wait_for(line);
    ASSERT_TRUE(seen && seen->origin);
    if (!seen->origin->parser) break;
  }
  EXPECT_EQ(seen->origin->parser, nullptr);
}

// Writes a Java stack trace and a line after it; waits (bounded) until the trace was handed on
// joined into one event (true) or line by line (false).
class MultilineHintChanges : public HintChanges {
 protected:
  bool probe_joined(const std::string& path, int i) {
    const std::string n = std::to_string(i);
    const std::vector<std::string> trace = {
        "Exception in thread \"main\" java.lang.IllegalStateException: " + n,
        "\tat com.example.App.run(App.java:" + n + ")", "\tat com.example.App.main(App.java:7)"};
    {
      std::ofstream out(path, std::ios::app);
      for (const std::string& line : trace) out << cri(line);
      out << cri("after " + n);  // a record's first line: the trace is complete
    }
    for (const std::string& line : trace) written_.push_back(line);
    written_.push_back("after " + n);
    const std::string joined = trace[0] + "\n" + trace[1] + "\n" + trace[2];
    const auto until = std::chrono::steady_clock::now() + kPatience;
    while (std::chrono::steady_clock::now() < until) {
      for (const Seen& s : ctx_.seen()) {
        if (s.line == joined) return true;
        if (s.line == trace[0]) return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ADD_FAILURE() << "trace " << n << " was not handed on";
    return false;
  }
  // Probes until one goes the way `joined` says; returns how many went the other way.
  int probe_until(const std::string& path, bool joined) {
    for (int tries = 0; tries < 500; ++tries) {
      if (probe_joined(path, next_++) == joined) return tries;
    }
    ADD_FAILURE() << "the hint change never took effect";
    return 0;
  }
  // Every line of every event handed on, in order, joined records split again.
  std::vector<std::string> lines_seen() {
    std::vector<std::string> lines;
    for (const Seen& s : ctx_.seen()) {
      size_t from = 0;
      for (size_t nl = s.line.find('\n'); nl != std::string::npos; nl = s.line.find('\n', from)) {
        lines.push_back(s.line.substr(from, nl - from));
        from = nl + 1;
      }
      lines.push_back(s.line.substr(from));
    }
    return lines;
  }
  std::vector<std::string> written_{"started"};
  int next_ = 0;
};

TEST_F(MultilineHintChanges, AMultilineHintChangeReachesAnOpenFileAndLosesNoLine) {
  cache_->upsert(pod("shop", "jvm-1", "uid-jvm"));
  const std::string path = log_file("shop", "jvm-1", "main", {"started"});
  start();
  ASSERT_TRUE(ctx_.wait_for("started"));
  EXPECT_FALSE(probe_joined(path, next_++));  // the source joins nothing

  cache_->upsert(
      pod("shop", "jvm-1", "uid-jvm", [](kube::PodMetadata& p) { p.hints.multiline = "java"; }));
  probe_until(path, true);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(probe_joined(path, next_++));

  // The hint removed: the source's own setting (none) again; the record being joined then (an
  // `after` line) is handed on as it is.
  cache_->upsert(pod("shop", "jvm-1", "uid-jvm"));
  probe_until(path, false);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(probe_joined(path, next_++));
  ASSERT_TRUE(ctx_.wait_for("after " + std::to_string(next_ - 1)));
  EXPECT_EQ(lines_seen(), written_);  // every line once, in order
  for (const Seen& s : ctx_.seen()) EXPECT_EQ(field(*s.origin, "kubernetes.pod.uid"), "uid-jvm");
}

}  // namespace
}  // namespace sluice
