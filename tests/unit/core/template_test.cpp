#include "core/template.hpp"
#include "support/map_lookup.hpp"

#include <gtest/gtest.h>

#include <map>

namespace sluice {
namespace {

using testing::MapLookup;

// 2024-02-29T13:04:05Z
constexpr int64_t kTs = 1709211845'000'000'000;

using Mode = Template::RenderMode;

std::string render(const std::string& text, const MapLookup& event, Mode mode = Mode::Raw,
                   bool* complete = nullptr, std::string_view missing = "unknown") {
  std::string error;
  auto t = Template::parse(text, &error);
  EXPECT_TRUE(t) << error;
  ByteBuffer out;
  out.append("<before>");  // rendering appends: what is there already stays as it is
  bool ok = t->render(event, kTs, Template::RenderOptions{mode, missing}, out);
  EXPECT_EQ(out.view().substr(0, 8), "<before>");
  if (complete) *complete = ok;
  return std::string(out.view().substr(8));
}

TEST(Template, StaticTextStaysAsIs) {
  std::string error;
  auto t = Template::parse("/var/log/out.jsonl", &error);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->is_static());
  EXPECT_EQ(render("/var/log/out.jsonl", MapLookup({})), "/var/log/out.jsonl");
}

TEST(Template, TimeFieldsFromTimestamp) {
  MapLookup none({});
  EXPECT_EQ(render("logs-%Y.%m.%d-%H%M%S", none), "logs-2024.02.29-130405");
  EXPECT_EQ(render("%F %T %y %j %s 100%%", none), "2024-02-29 13:04:05 24 060 1709211845 100%");
}

TEST(Template, FieldPlaceholders) {
  MapLookup event({{"kubernetes.namespace", "payments"}, {"app", "web"}});
  EXPECT_EQ(render("logs-{{ kubernetes.namespace }}-{{app}}", event), "logs-payments-web");
  bool complete = true;
  EXPECT_EQ(render("x-{{ missing }}", event, Mode::Raw, &complete), "x-unknown");
  EXPECT_FALSE(complete);
}

TEST(Template, RejectsMalformedTemplates) {
  std::string error;
  EXPECT_FALSE(Template::parse("a-{{ b", &error));
  EXPECT_FALSE(Template::parse("a-{{ }}", &error));
  EXPECT_FALSE(Template::parse("a-%Q", &error));
  EXPECT_NE(error.find("%Q"), std::string::npos);
  EXPECT_FALSE(Template::parse("a-%", &error));
  EXPECT_FALSE(Template::parse("{{ a b }}", &error));
}

}  // namespace
}  // namespace sluice
