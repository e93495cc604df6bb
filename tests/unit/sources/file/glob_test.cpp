#include "sources/file/glob.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace sluice {

using testing::TempDir;
namespace {

using Paths = std::vector<std::string>;

TEST(GlobComponent, Wildcards) {
  EXPECT_TRUE(glob_match_component("*.log", "app.log"));
  EXPECT_TRUE(glob_match_component("*.log", ".log"));
  EXPECT_TRUE(glob_match_component("*.log", ".hidden.log"));
  EXPECT_FALSE(glob_match_component("*.log", "app.log.1"));
  EXPECT_TRUE(glob_match_component("*", ""));
  EXPECT_TRUE(glob_match_component("a*b*c", "aXXbYYbZc"));
  EXPECT_FALSE(glob_match_component("a*b*c", "aXXbYYbZ"));
  EXPECT_TRUE(glob_match_component("app-?.log", "app-1.log"));
  EXPECT_FALSE(glob_match_component("app-?.log", "app-12.log"));
  EXPECT_TRUE(glob_match_component("**", "anything"));
  EXPECT_TRUE(glob_match_component("", ""));
  EXPECT_FALSE(glob_match_component("", "a"));
}

TEST(GlobComponent, BracketsAndEscapes) {
  EXPECT_TRUE(glob_match_component("[abc].log", "b.log"));
  EXPECT_FALSE(glob_match_component("[abc].log", "d.log"));
  EXPECT_TRUE(glob_match_component("[!abc].log", "d.log"));
  EXPECT_FALSE(glob_match_component("[!abc].log", "a.log"));
  EXPECT_TRUE(glob_match_component("[^abc].log", "d.log"));
  EXPECT_TRUE(glob_match_component("app.[0-9]", "app.7"));
  EXPECT_FALSE(glob_match_component("app.[0-9]", "app.x"));
  EXPECT_TRUE(glob_match_component("[]x]", "]"));
  EXPECT_TRUE(glob_match_component("[!]x]", "y"));
  EXPECT_TRUE(glob_match_component("[a-]", "-"));
  EXPECT_TRUE(glob_match_component("\\*.log", "*.log"));
  EXPECT_FALSE(glob_match_component("\\*.log", "a.log"));
  EXPECT_TRUE(glob_match_component("[\\]]", "]"));
  // Bytes above 0x7f compare as unsigned.
  EXPECT_TRUE(glob_match_component("[\x80-\xff]", "\xe9"));
}

TEST(GlobComponent, PathologicalPatternIsFast) {
  const std::string name(200, 'a');
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(glob_match_component("*a*a*a*a*a*a*a*a*a*a*b", name));
  // Linear matching takes microseconds, backtracking ~200^10 steps: a bound this loose holds on
  // any machine (sanitizers, load) and still tells the two apart.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(GlobCreate, InvalidPatternsAreReported) {
  std::string error;
  EXPECT_EQ(PathMatcher::create({"/var/log/[ab.log"}, {}, &error), nullptr);
  EXPECT_NE(error.find("unclosed '['"), std::string::npos) << error;
  EXPECT_NE(error.find("/var/log/[ab.log"), std::string::npos) << error;
  EXPECT_EQ(PathMatcher::create({"/var/log/{a,b.log"}, {}, &error), nullptr);
  EXPECT_NE(error.find("unclosed '{'"), std::string::npos) << error;
  EXPECT_EQ(PathMatcher::create({"/var/log/"}, {}, &error), nullptr);
  EXPECT_NE(error.find("ends with '/'"), std::string::npos) << error;
  EXPECT_EQ(PathMatcher::create({""}, {}, &error), nullptr);
  EXPECT_NE(error.find("empty"), std::string::npos) << error;
  EXPECT_EQ(PathMatcher::create({"/var/log/a\\"}, {}, &error), nullptr);
  EXPECT_NE(error.find("trailing"), std::string::npos) << error;
  EXPECT_EQ(PathMatcher::create({}, {}, &error), nullptr);
  EXPECT_NE(error.find("no include"), std::string::npos) << error;
  EXPECT_EQ(PathMatcher::create({"/var/log/*.log"}, {"[x"}, &error), nullptr);
  EXPECT_NE(error.find("exclude"), std::string::npos) << error;
  // 2^11 alternatives is over the limit.
  std::string many = "/x/";
  for (int i = 0; i < 11; ++i) many += "{a,b}";
  EXPECT_EQ(PathMatcher::create({many}, {}, &error), nullptr);
  EXPECT_NE(error.find("alternatives"), std::string::npos) << error;
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += "/d";
  EXPECT_EQ(PathMatcher::create({deep}, {}, &error), nullptr);
  EXPECT_NE(error.find("components"), std::string::npos) << error;
}

TEST(GlobMatches, PathPatterns) {
  std::string error;
  auto m = PathMatcher::create({"/var/log/**/*.log", "/srv/{a,b}/app-[0-9].txt", "/opt/x.log"},
                               {"*.gz", "/var/log/private/**"}, &error);
  ASSERT_NE(m, nullptr) << error;
  EXPECT_TRUE(m->matches("/var/log/a.log"));  // ** matches zero directories
  EXPECT_TRUE(m->matches("/var/log/x/y/z/a.log"));
  EXPECT_TRUE(m->matches("//var/./log//x/a.log"));
  EXPECT_FALSE(m->matches("/var/log/a.txt"));
  EXPECT_FALSE(m->matches("/var/logs/a.log"));
  EXPECT_FALSE(m->matches("/var/log/private/a.log"));
  EXPECT_FALSE(m->matches("/var/log/private/x/a.log"));
  EXPECT_TRUE(m->matches("/srv/a/app-1.txt"));
  EXPECT_TRUE(m->matches("/srv/b/app-2.txt"));
  EXPECT_FALSE(m->matches("/srv/c/app-2.txt"));
  EXPECT_TRUE(m->matches("/opt/x.log"));
  EXPECT_FALSE(m->matches("/opt/y.log"));
  EXPECT_FALSE(m->matches(""));
  EXPECT_FALSE(m->matches("/"));

  m = PathMatcher::create({"/var/log/**"}, {"*.gz"}, &error);
  ASSERT_NE(m, nullptr) << error;
  EXPECT_TRUE(m->matches("/var/log/a"));
  EXPECT_TRUE(m->matches("/var/log/a/b/c"));
  EXPECT_FALSE(m->matches("/var/log/a/b/c.gz"));  // by basename
  EXPECT_FALSE(m->matches("/var/other"));

  m = PathMatcher::create({"/**/containers/*.log"}, {}, &error);
  ASSERT_NE(m, nullptr) << error;
  EXPECT_TRUE(m->matches("/containers/a.log"));
  EXPECT_TRUE(m->matches("/var/log/containers/a.log"));
  EXPECT_FALSE(m->matches("/var/log/containers/x/a.log"));
}

class GlobTest : public ::testing::Test {
 protected:
  std::string p(const std::string& rel) const { return tmp_.at(rel); }

  void touch(const std::string& rel) { ASSERT_TRUE(testing::touch(p(rel))); }
  void mkdir(const std::string& rel) { std::filesystem::create_directories(p(rel)); }
  void symlink(const std::string& target, const std::string& rel) {
    ASSERT_EQ(::symlink(target.c_str(), p(rel).c_str()), 0) << rel;
  }

  Paths scan(const Paths& include, const Paths& exclude = {}, Paths* errors = nullptr) {
    std::string error;
    auto m = PathMatcher::create(include, exclude, &error);
    EXPECT_NE(m, nullptr) << error;
    if (!m) return {};
    Paths files = m->scan(errors);
    for (const std::string& f : files) EXPECT_TRUE(m->matches(f)) << f;
    return files;
  }

  Paths abs(Paths rel) const {
    for (std::string& r : rel) r = p(r);
    return rel;
  }

  void make_tree() {
    for (const char* f : {"a.log", "b.log", "c.txt", "x.log.gz", "sub/d.log", "sub/deep/e.log",
                          "sub/deep/e.log.gz", "other/f.log", ".hidden/g.log"}) {
      touch(f);
    }
  }

  TempDir tmp_{"sluice-glob"};
  std::string root_ = tmp_.path();
};

TEST_F(GlobTest, StarInOneDirectory) {
  make_tree();
  EXPECT_EQ(scan({p("*.log")}), abs({"a.log", "b.log"}));
  EXPECT_EQ(scan({p("?.txt")}), abs({"c.txt"}));
  EXPECT_EQ(scan({p("[ab].log")}), abs({"a.log", "b.log"}));
  EXPECT_EQ(scan({p("[!a].log")}), abs({"b.log"}));
  EXPECT_EQ(scan({p("a.log")}), abs({"a.log"}));  // fully literal
  EXPECT_EQ(scan({p("sub")}), Paths{});           // a directory is not a file
}

TEST_F(GlobTest, GlobstarAtEndMiddleAndStart) {
  make_tree();
  // End: every file below, at any depth.
  EXPECT_EQ(scan({p("**")}), abs({".hidden/g.log", "a.log", "b.log", "c.txt", "other/f.log",
                                  "sub/d.log", "sub/deep/e.log", "sub/deep/e.log.gz", "x.log.gz"}));
  // Middle: zero or more directories.
  EXPECT_EQ(scan({p("**/*.log")}),
            abs({".hidden/g.log", "a.log", "b.log", "other/f.log", "sub/d.log", "sub/deep/e.log"}));
  EXPECT_EQ(scan({p("sub/**/e.log")}), abs({"sub/deep/e.log"}));
  EXPECT_EQ(scan({p("**/deep/*.log")}), abs({"sub/deep/e.log"}));
  // Start: a relative pattern is resolved against the working directory.
  char saved[4096];
  ASSERT_NE(::getcwd(saved, sizeof saved), nullptr);
  ASSERT_EQ(::chdir(p("sub").c_str()), 0);
  Paths found = scan({"**/*.log"});
  std::string error;
  auto m = PathMatcher::create({"deep/e.log"}, {}, &error);
  ASSERT_EQ(::chdir(saved), 0);
  EXPECT_EQ(found, abs({"sub/d.log", "sub/deep/e.log"}));
  ASSERT_NE(m, nullptr) << error;
  EXPECT_EQ(m->scan(), abs({"sub/deep/e.log"}));
  EXPECT_TRUE(m->matches(p("sub/deep/e.log")));
}

TEST_F(GlobTest, BracesAndExcludes) {
  make_tree();
  EXPECT_EQ(scan({p("{sub,other}/*.log")}), abs({"other/f.log", "sub/d.log"}));
  EXPECT_EQ(scan({p("**")}, {"*.gz", "*.txt", p(".hidden/**")}),
            abs({"a.log", "b.log", "other/f.log", "sub/d.log", "sub/deep/e.log"}));
  // A basename exclude is not a path exclude: "sub" does not exclude sub/d.log.
  EXPECT_EQ(scan({p("sub/*.log")}, {"sub"}), abs({"sub/d.log"}));
  EXPECT_EQ(scan({p("**/*.log")}, {p("sub/**")}),
            abs({".hidden/g.log", "a.log", "b.log", "other/f.log"}));
}

TEST_F(GlobTest, SortedWithoutDuplicates) {
  make_tree();
  EXPECT_EQ(scan({p("b.log"), p("*.log"), p("a.*"), p("{a,b}.log"), p("**/a.log")}),
            abs({"a.log", "b.log"}));
}

TEST_F(GlobTest, SymlinkedFilesAreFollowedButNotResolved) {
  make_tree();
  mkdir("containers");
  symlink(p("sub/d.log"), "containers/pod_ns_app-1.log");
  symlink("../a.log", "containers/relative.log");
  symlink(p("missing.log"), "containers/dangling.log");
  symlink(p("sub"), "containers/dir.log");  // a directory, not a file
  EXPECT_EQ(scan({p("containers/*.log")}),
            abs({"containers/pod_ns_app-1.log", "containers/relative.log"}));
}

TEST_F(GlobTest, SymlinkDirectoryLoopsTerminate) {
  touch("loop/a/x.log");
  symlink("..", "loop/a/up");        // loop/a/up -> loop
  symlink(".", "loop/a/self");       // loop/a/self -> loop/a
  symlink(p("loop"), "loop/a/abs");  // absolute spelling of the same loop
  symlink("cycle2", "loop/cycle1");  // symlink-to-symlink loop: ELOOP
  symlink("cycle1", "loop/cycle2");
  Paths errors;
  const auto start = std::chrono::steady_clock::now();
  Paths found = scan({p("loop/**/*.log")}, {}, &errors);
  // A walk that follows the loops never ends; one that does not takes milliseconds.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_EQ(found, abs({"loop/a/x.log"}));
  EXPECT_TRUE(errors.empty()) << errors.front();

  std::string error;
  auto m = PathMatcher::create({p("loop/**/*.log")}, {}, &error);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->watch_dirs(), abs({"loop", "loop/a"}));
}

TEST_F(GlobTest, SymlinkedDirectoriesAreFollowed) {
  touch("real/app/a.log");
  mkdir("pods");
  symlink(p("real/app"), "pods/app");
  EXPECT_EQ(scan({p("pods/*/*.log")}), abs({"pods/app/a.log"}));
  EXPECT_EQ(scan({p("pods/**/*.log")}), abs({"pods/app/a.log"}));
}

TEST_F(GlobTest, MissingDirectoriesAreQuiet) {
  make_tree();
  Paths errors;
  EXPECT_EQ(scan({p("nope/*.log"), p("nope/deeper/**/x.log"), p("a.log/*.log")}, {}, &errors),
            Paths{});
  EXPECT_TRUE(errors.empty()) << errors.front();

  std::string error;
  auto m = PathMatcher::create({p("nope/deeper/*.log"), p("sub/*.log")}, {}, &error);
  ASSERT_NE(m, nullptr);
  // The deepest existing directory of the missing prefix is watched, to see it created.
  EXPECT_EQ(m->watch_dirs(), Paths({root_, p("sub")}));
  touch("nope/deeper/z.log");
  EXPECT_EQ(m->scan(), abs({"nope/deeper/z.log", "sub/d.log"}));
  EXPECT_EQ(m->watch_dirs(), abs({"nope/deeper", "sub"}));
}

TEST_F(GlobTest, WatchDirsCoverEveryWalkedDirectory) {
  make_tree();
  std::string error;
  auto m = PathMatcher::create({p("**/*.log")}, {}, &error);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->watch_dirs(), Paths({root_, p(".hidden"), p("other"), p("sub"), p("sub/deep")}));
  m = PathMatcher::create({p("*/*.log")}, {}, &error);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->watch_dirs(), Paths({root_, p(".hidden"), p("other"), p("sub")}));
}

TEST_F(GlobTest, UnreadableDirectoriesAreReported) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any directory";
  make_tree();
  ASSERT_EQ(::chmod(p("sub").c_str(), 0), 0);
  Paths errors;
  EXPECT_EQ(scan({p("**/*.log")}, {}, &errors),
            abs({".hidden/g.log", "a.log", "b.log", "other/f.log"}));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(p("sub")), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("Permission denied"), std::string::npos) << errors[0];
}

// How long these scans take is measured by BM_GlobScan in bench/ (a unit test must not depend
// on the machine's speed); here, that a scan of many files and of many symlinks is right.
TEST_F(GlobTest, ScanOfThousandFilesAndSymlinksFindsEachOnce) {
  mkdir("many");
  for (int i = 0; i < 1000; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "many/app-%04d.log", i);
    touch(name);
  }
  touch("many/skip.txt");
  std::string error;
  auto m = PathMatcher::create({p("many/*.log")}, {"*.gz"}, &error);
  ASSERT_NE(m, nullptr);
  Paths files = m->scan();
  ASSERT_EQ(files.size(), 1000u);
  std::sort(files.begin(), files.end());
  EXPECT_EQ(std::unique(files.begin(), files.end()), files.end());
  EXPECT_EQ(files.front(), p("many/app-0000.log"));

  // /var/log/containers: every entry is a symlink, so each costs a stat().
  mkdir("links");
  for (int i = 0; i < 1000; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "links/app-%04d.log", i);
    symlink(p(name).replace(p(name).find("/links/"), 7, "/many/"), name);
  }
  symlink(p("many/missing.log"), "links/dangling.log");
  m = PathMatcher::create({p("links/*.log")}, {}, &error);
  ASSERT_NE(m, nullptr);
  files = m->scan();
  // The dangling link names no file to read.
  ASSERT_EQ(files.size(), 1000u);
  std::sort(files.begin(), files.end());
  EXPECT_EQ(std::unique(files.begin(), files.end()), files.end());
  EXPECT_EQ(files.back(), p("links/app-0999.log"));
}

}  // namespace
}  // namespace sluice
