// base/secrets: which names are secret, URL masking, remembered values, and that MapReader and
// the log both apply them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <yaml-cpp/yaml.h>

#include "base/log.hpp"
#include "base/secrets.hpp"
#include "options/map_reader.hpp"
#include "support/temp_dir.hpp"

namespace sluice {
namespace {

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override { secrets::forget_all_for_testing(); }
  void TearDown() override { secrets::forget_all_for_testing(); }
};

TEST_F(SecretsTest, SecretNames) {
  for (const char* name :
       {"password", "auth.password", "api_key", "sasl.password", "sasl.username", "sasl.mechanism",
        "librdkafka.sasl.oauthbearer.config", "ssl.key.password", "ssl.key.pem", "ssl.key.location",
        "ssl.keystore.password", "client_secret", "SASL.PASSWORD", "access_token"}) {
    EXPECT_TRUE(secrets::is_secret_name(name)) << name;
  }
  for (const char* name :
       {"brokers", "topic", "user", "path", "ssl.ca.location", "security.protocol",
        "ssl.certificate.location", "tls.key_file", "basal.x"}) {
    EXPECT_FALSE(secrets::is_secret_name(name)) << name;
  }
}

TEST_F(SecretsTest, UrlUserInfoAndSecretQueryValues) {
  EXPECT_EQ(secrets::redact_url("kafka://user:pw@h:9092/t"), "kafka://user:***@h:9092/t");
  EXPECT_EQ(secrets::redact_url("https://tok3n@h/x"), "https://***@h/x");
  EXPECT_EQ(secrets::redact_url("http://h:9200/x"), "http://h:9200/x");
  EXPECT_EQ(secrets::redact_url("file:///var/log/a@b.jsonl"), "file:///var/log/a@b.jsonl");
  EXPECT_EQ(secrets::redact_url("kafka://h/t?librdkafka.sasl.password=pw&acks=1&auth.api_key=k#f"),
            "kafka://h/t?librdkafka.sasl.password=***&acks=1&auth.api_key=***#f");
  EXPECT_EQ(secrets::redact_url("kafka://h/t?librdkafka.sasl%2Epassword=pw"),
            "kafka://h/t?librdkafka.sasl%2Epassword=***");
  EXPECT_EQ(secrets::redact_url("kafka://h/t?bare&x="), "kafka://h/t?bare&x=");
}

TEST_F(SecretsTest, RememberedValuesAndUrlsInFreeText) {
  secrets::remember("hunter22");
  secrets::remember("hunter22-long");  // masked whole, not as "***-long"
  secrets::remember("abc");            // too short to look for
  EXPECT_EQ(secrets::redact("a hunter22 b hunter22-long c abc"), "a *** b *** c abc");
  EXPECT_EQ(secrets::redact("failed: `elasticsearch+http://u:p@h:1/i` and 'kafka://x@h/t'"),
            "failed: `elasticsearch+http://u:***@h:1/i` and 'kafka://***@h/t'");
  std::string untouched = "nothing to mask";
  secrets::redact_in_place(untouched);
  EXPECT_EQ(untouched, "nothing to mask");
}

YAML::Node yaml(const std::string& text) { return YAML::Load(text); }

// A schema declaring `other` a secret, and the rest plain strings.
std::shared_ptr<const OptionSchema> auth_schema() {
  static const std::vector<OptionSpec> kOptions = {
      {.key = "user"},
      {.key = "password"},
      {.key = "token_x"},
      {.key = "other", .secret = true},
  };
  return std::make_shared<const OptionSchema>("sink/test.auth",
                                              std::vector<std::span<const OptionSpec>>{kOptions});
}

TEST_F(SecretsTest, ReaderRemembersDeclaredAndNamedSecrets) {
  MapReader r(
      yaml("{password: s3cret-one, token_x: s3cret-two, user: alice, other: s3cret-3}"),
      "sink `es` `auth`", "test.yaml", [](const std::string&) { return std::nullopt; },
      auth_schema());
  EXPECT_EQ(r.string("user"), "alice");
  EXPECT_EQ(r.string("password"), "s3cret-one");  // by its name
  EXPECT_EQ(r.string("token_x"), "s3cret-two");
  EXPECT_EQ(r.string("other"), "s3cret-3");  // declared in the schema
  EXPECT_EQ(secrets::redact("alice s3cret-one s3cret-two s3cret-3"), "alice *** *** ***");
}

TEST_F(SecretsTest, ReaderNeverQuotesASecretInItsErrors) {
  MapReader r(
      yaml("{other: 'pw-is-${'}"), "sink `es` `auth`", "test.yaml",
      [](const std::string&) { return std::nullopt; }, auth_schema());
  try {
    r.string("other");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    std::string what = e.what();
    EXPECT_EQ(what.find("pw-is"), std::string::npos) << what;
    EXPECT_NE(what.find("test.yaml:1:"), std::string::npos) << what;
    EXPECT_NE(what.find("${"), std::string::npos) << what;
  }
}

TEST_F(SecretsTest, ReaderNamesAMissingVariableOfASecret) {
  MapReader r(
      yaml("{other: '${ES_PASSWORD:?set it}'}"), "sink `es` `auth`", "test.yaml",
      [](const std::string&) { return std::nullopt; }, auth_schema());
  try {
    r.string("other");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("environment variable ES_PASSWORD is required: set it"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(SecretsTest, ReaderRefusesNulBytes) {
  MapReader r(yaml("{path: \"/tmp/a\\0b\"}"), "sink `out`", "test.yaml",
              [](const std::string&) { return std::nullopt; });
  EXPECT_THROW(r.string("path"), ConfigError);
}

// The log masks every value and the message, before quoting: this is the path librdkafka's own
// log lines take (KafkaSink::log_callback, KafkaSource::log_cb).
TEST_F(SecretsTest, LogLinesAreMasked) {
  secrets::remember("pa\"ss word");
  const testing::TempDir tmp("sluice-secrets");
  const std::string name = tmp.at("stderr.log");
  int fd = ::open(name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  int saved = dup(2);
  dup2(fd, 2);
  log::warn("librdkafka says pa\"ss word", "text", "broker pa\"ss word:9092 failed", "url",
            "kafka://u:pw@h/t");
  dup2(saved, 2);
  close(saved);
  std::string line(4096, '\0');
  line.resize(static_cast<size_t>(pread(fd, line.data(), line.size(), 0)));
  close(fd);
  EXPECT_EQ(line.find("pa\\\"ss"), std::string::npos) << line;
  EXPECT_EQ(line.find("pw@"), std::string::npos) << line;
  EXPECT_NE(line.find("broker ***:9092 failed"), std::string::npos) << line;
  EXPECT_NE(line.find("kafka://u:***@h/t"), std::string::npos) << line;
}

}  // namespace
}  // namespace sluice
