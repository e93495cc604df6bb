#include "sources/file/fingerprint.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace sluice {

using testing::TempDir;
namespace {

class FingerprintTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return tmp_.at(name); }

  // Writes `data` (truncating, or appending) without replacing the inode.
  static void write_file(const std::string& p, const std::string& data) {
    ASSERT_TRUE(testing::write_file(p, data));
  }
  static void append_file(const std::string& p, const std::string& data) {
    ASSERT_TRUE(testing::append_file(p, data));
  }

  static FileIdentity identity_of(const std::string& p) {
    FileIdentity id;
    int fd = ::open(p.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    EXPECT_TRUE(read_fingerprint(fd, id));
    ::close(fd);
    return id;
  }

  static bool same(const std::string& p, const FileIdentity& saved) {
    int fd = ::open(p.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    bool result = same_file(fd, saved);
    ::close(fd);
    return result;
  }

  TempDir tmp_{"sluice-fp"};
  std::string dir_ = tmp_.path();
};

TEST(FingerprintHash, MatchesReferenceXxh64Vectors) {
  EXPECT_EQ(xxh64("", 0), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(xxh64("a", 1), 0xD24EC4F1A98C6E5BULL);
  EXPECT_EQ(xxh64("abc", 3), 0x44BC2CF5AD770999ULL);
  // Longer than 32 bytes: the four-lane loop and the merge rounds run.
  std::string s = "Nobody inspects the spammish repetition";
  EXPECT_EQ(xxh64(s.data(), s.size()), 0xFBCEA83C8A378BF1ULL);
  s = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(xxh64(s.data(), s.size()), 0x0B242D361FDA71BCULL);
}

TEST_F(FingerprintTest, SameFileAcrossAppendAndRename) {
  std::string big(1000, 'x');
  write_file(path("a.log"), "first line\n" + big);
  FileIdentity id = identity_of(path("a.log"));
  EXPECT_EQ(id.fp_len, kFingerprintBytes);
  EXPECT_TRUE(same(path("a.log"), id));

  append_file(path("a.log"), "more\n");
  EXPECT_TRUE(same(path("a.log"), id));
  ASSERT_EQ(::rename(path("a.log").c_str(), path("a.log.1").c_str()), 0);
  EXPECT_TRUE(same(path("a.log.1"), id));
  EXPECT_EQ(identity_of(path("a.log.1")).fp_hash, id.fp_hash);
}

TEST_F(FingerprintTest, RewrittenFileWithSameInodeIsDifferent) {
  write_file(path("a.log"), "2024-01-01 old content\n");
  FileIdentity old_id = identity_of(path("a.log"));
  write_file(path("a.log"), "2024-01-02 new content\n");  // O_TRUNC: same inode
  FileIdentity new_id = identity_of(path("a.log"));
  EXPECT_EQ(new_id.ino, old_id.ino);
  EXPECT_EQ(new_id.fp_len, old_id.fp_len);
  EXPECT_NE(new_id.fp_hash, old_id.fp_hash);
  EXPECT_FALSE(same(path("a.log"), old_id));
}

TEST_F(FingerprintTest, ShortFiles) {
  write_file(path("a.log"), "hello\n");
  FileIdentity id = identity_of(path("a.log"));
  EXPECT_EQ(id.fp_len, 6u);
  EXPECT_EQ(id.fp_hash, xxh64("hello\n", 6));
  // Growing keeps the short prefix, so it is still the same stream.
  append_file(path("a.log"), "world\n");
  EXPECT_TRUE(same(path("a.log"), id));
  // Truncated below the saved length: not the same.
  ASSERT_EQ(::truncate(path("a.log").c_str(), 3), 0);
  EXPECT_FALSE(same(path("a.log"), id));

  write_file(path("empty.log"), "");
  FileIdentity empty = identity_of(path("empty.log"));
  EXPECT_EQ(empty.fp_len, 0u);
  EXPECT_TRUE(same(path("empty.log"), empty));
}

TEST_F(FingerprintTest, SameContentOnAnotherInodeIsDifferent) {
  write_file(path("a.log"), "same bytes\n");
  write_file(path("b.log"), "same bytes\n");
  FileIdentity a = identity_of(path("a.log"));
  FileIdentity b = identity_of(path("b.log"));
  EXPECT_EQ(a.fp_hash, b.fp_hash);
  EXPECT_FALSE(same(path("b.log"), a));
  EXPECT_NE(stable_file_id(a), stable_file_id(b));
}

TEST_F(FingerprintTest, ReadingLeavesTheFilePositionAlone) {
  write_file(path("a.log"), "0123456789");
  int fd = ::open(path("a.log").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::lseek(fd, 4, SEEK_SET), 4);
  FileIdentity id;
  ASSERT_TRUE(read_fingerprint(fd, id));
  EXPECT_TRUE(same_file(fd, id));
  EXPECT_EQ(::lseek(fd, 0, SEEK_CUR), 4);
  ::close(fd);
}

TEST_F(FingerprintTest, BadInputIsRejectedNotCrashed) {
  FileIdentity id;
  EXPECT_FALSE(read_fingerprint(-1, id));
  EXPECT_FALSE(same_file(-1, id));
  write_file(path("a.log"), "abc");
  FileIdentity bogus = identity_of(path("a.log"));
  bogus.fp_len = 1u << 30;  // from a damaged checkpoint
  EXPECT_FALSE(same(path("a.log"), bogus));
  // A directory cannot be read: not the same, no crash.
  int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  FileIdentity d;
  EXPECT_FALSE(read_fingerprint(fd, d));
  ::close(fd);
}

TEST(FingerprintId, StableAndSensitiveToEveryField) {
  FileIdentity id{.dev = 2049, .ino = 123456, .fp_len = 256, .fp_hash = 0xDEADBEEFCAFEF00DULL};
  const uint64_t base = stable_file_id(id);
  EXPECT_EQ(stable_file_id(id), base);
  FileIdentity other = id;
  other.dev++;
  EXPECT_NE(stable_file_id(other), base);
  other = id;
  other.ino++;
  EXPECT_NE(stable_file_id(other), base);
  other = id;
  other.fp_len--;
  EXPECT_NE(stable_file_id(other), base);
  other = id;
  other.fp_hash ^= 1;
  EXPECT_NE(stable_file_id(other), base);
}

}  // namespace
}  // namespace sluice
