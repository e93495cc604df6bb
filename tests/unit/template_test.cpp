#include "core/template.hpp"

#include <gtest/gtest.h>

#include <map>

namespace sluice {
namespace {

class MapLookup final : public FieldLookup {
 public:
  explicit MapLookup(std::map<std::string, std::string> m) : m_(std::move(m)) {}
  std::optional<Value> get(std::string_view path) const override {
    auto it = m_.find(std::string(path));
    if (it == m_.end()) return std::nullopt;
    return Value{ValueKind::String, true, it->second};
  }

 private:
  std::map<std::string, std::string> m_;
};

// 2024-02-29T13:04:05Z
constexpr int64_t kTs = 1709211845'000'000'000;

std::string render(const std::string& text, const MapLookup& event, bool sanitize = false,
                   bool* complete = nullptr) {
  std::string error;
  auto t = Template::parse(text, &error);
  EXPECT_TRUE(t) << error;
  ByteBuffer out;
  bool ok = t->render(event, kTs, Template::RenderOptions{sanitize, "unknown"}, out);
  if (complete) *complete = ok;
  return std::string(out.view());
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
  EXPECT_EQ(render("x-{{ missing }}", event, false, &complete), "x-unknown");
  EXPECT_FALSE(complete);
}

TEST(Template, SanitisesPathValues) {
  MapLookup event({{"svc", "../../etc/passwd"}, {"empty", ""}});
  EXPECT_EQ(render("/out/{{ svc }}.log", event, true), "/out/______etc_passwd.log");
  EXPECT_EQ(render("/out/{{ empty }}.log", event, true), "/out/_.log");
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
