// Field paths with quoted segments (base/field_path.hpp): scanning, canonical form, and the
// comparisons lookups make per event.
#include "base/field_path.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice {
namespace {

TEST(FieldPath, ScanStopsAtTheFirstCharacterThatCannotContinueIt) {
  FieldPathScan scan = scan_field_path(R"(kubernetes.labels."app.kubernetes.io/name" == web)");
  EXPECT_TRUE(scan.error.empty()) << scan.error;
  EXPECT_EQ(scan.end, 42u);
  EXPECT_EQ(scan.canonical, R"(kubernetes.labels."app.kubernetes.io/name")");
  scan = scan_field_path("level>=warn");
  EXPECT_EQ(scan.end, 5u);
  EXPECT_EQ(scan.canonical, "level");
  scan = scan_field_path(" a", 0);
  EXPECT_EQ(scan.end, 0u);
  EXPECT_TRUE(scan.error.empty());
}

TEST(FieldPath, CanonicalFormQuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(scan_field_path(R"("level")").canonical, "level");
  EXPECT_EQ(scan_field_path(R"(a."b"."c.d")").canonical, R"(a.b."c.d")");
  EXPECT_EQ(scan_field_path(R"("a\"b")").canonical, R"("a\"b")");
  EXPECT_EQ(scan_field_path(R"("a b")").canonical, R"("a b")");
}

TEST(FieldPath, Errors) {
  FieldPathScan scan = scan_field_path(R"(labels."app)");
  EXPECT_EQ(scan.error, "unterminated quoted name in field path, expected a closing \"");
  EXPECT_EQ(scan.error_at, 7u);
  scan = scan_field_path(R"(labels."a\n")");
  EXPECT_NE(scan.error.find("only \\\" and \\\\ are escapes"), std::string::npos) << scan.error;
  EXPECT_EQ(scan.error_at, 9u);
  EXPECT_FALSE(scan_field_path(R"(a."")").error.empty());
  EXPECT_FALSE(scan_field_path(R"(a"b")").error.empty());
  EXPECT_FALSE(scan_field_path(R"("a"b)").error.empty());
  EXPECT_FALSE(scan_field_path(R"("a""b")").error.empty());
}

TEST(FieldPath, SegmentsSplitOutsideQuotesOnly) {
  std::vector<std::string> seen;
  PathSegments segments(R"(a."b.c".d."e\"f")");
  PathSegment segment;
  while (segments.next(&segment)) {
    seen.push_back((segment.quoted ? "q:" : "p:") + std::string(segment.raw));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"p:a", "q:b.c", "p:d", R"(q:e\"f)"}));
}

TEST(FieldPath, NamesKeyJoinsTheSegments) {
  EXPECT_TRUE(path_names_key(R"("a.b")", "a.b"));
  EXPECT_TRUE(path_names_key(R"(x."a.b")", "x.a.b"));
  EXPECT_TRUE(path_names_key(R"("say\"hi\\")", "say\"hi\\"));
  EXPECT_FALSE(path_names_key(R"("a.b")", "a.bc"));
  EXPECT_FALSE(path_names_key(R"("a.b")", "a"));
  EXPECT_TRUE(path_names_key("a.b", "a.b"));
  EXPECT_EQ(flat_key_of_path(R"(x."a.b"."c\"d")"), "x.a.b.c\"d");
}

TEST(FieldPath, UnderAndLastSeparator) {
  EXPECT_EQ(path_under(R"(kubernetes.labels."app.kubernetes.io/name")", "kubernetes.labels"),
            R"("app.kubernetes.io/name")");
  EXPECT_EQ(path_under("kubernetes.labels.app", "kubernetes.labels"), "app");
  EXPECT_EQ(path_under("kubernetes.labels", "kubernetes.labels"), "");
  EXPECT_EQ(path_under(R"(kubernetes."labels")", "kubernetes.labels"), "");
  EXPECT_EQ(path_under(R"(kubernetes.labelsx."a")", "kubernetes.labels"), "");
  const std::string_view path = R"(x."a.b".c)";
  EXPECT_EQ(last_path_separator(path, path.size()), 7u);
  EXPECT_EQ(last_path_separator(path, 7), 1u);
  EXPECT_EQ(last_path_separator(path, 1), std::string_view::npos);
  EXPECT_EQ(last_path_separator("a.b.c", 5), 3u);
}

}  // namespace
}  // namespace sluice
