// parse_endpoint(): the URL rules every HTTP client of sluice shares; the defaults a user gives.
#include "net/http_endpoint.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::net {
namespace {

TEST(HttpEndpoint, DefaultsAndPrefix) {
  const EndpointDefaults defaults;
  Endpoint e;
  std::string error;
  ASSERT_TRUE(parse_endpoint("http://localhost", defaults, &e, &error)) << error;
  EXPECT_FALSE(e.tls);
  EXPECT_EQ(e.host, "localhost");
  EXPECT_EQ(e.port, "80");
  EXPECT_EQ(e.base_path, "");
  EXPECT_EQ(e.url, "http://localhost");

  ASSERT_TRUE(parse_endpoint("https://api.example.com/", defaults, &e, &error)) << error;
  EXPECT_TRUE(e.tls);
  EXPECT_EQ(e.port, "443");
  EXPECT_EQ(e.base_path, "");

  ASSERT_TRUE(parse_endpoint("HTTP://10.0.0.1:9201/proxy/api//", defaults, &e, &error)) << error;
  EXPECT_FALSE(e.tls);
  EXPECT_EQ(e.host, "10.0.0.1");
  EXPECT_EQ(e.port, "9201");
  EXPECT_EQ(e.base_path, "/proxy/api");

  ASSERT_TRUE(parse_endpoint("https://[::1]:6443/p", defaults, &e, &error)) << error;
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, "6443");
  EXPECT_EQ(e.base_path, "/p");

  ASSERT_TRUE(parse_endpoint("http://[fe80::1]", defaults, &e, &error)) << error;
  EXPECT_EQ(e.host, "fe80::1");
  EXPECT_EQ(e.port, "80");
}

TEST(HttpEndpoint, TheUsersDefaultPortsApplyOnlyWhenTheUrlHasNone) {
  const EndpointDefaults defaults{.http_port = "8080", .https_port = "6443"};
  Endpoint e;
  std::string error;
  ASSERT_TRUE(parse_endpoint("http://host", defaults, &e, &error)) << error;
  EXPECT_EQ(e.port, "8080");
  ASSERT_TRUE(parse_endpoint("https://host", defaults, &e, &error)) << error;
  EXPECT_EQ(e.port, "6443");
  ASSERT_TRUE(parse_endpoint("https://host:443", defaults, &e, &error)) << error;
  EXPECT_EQ(e.port, "443");
}

TEST(HttpEndpoint, RefusesCredentialsWithoutEchoingThemAndSaysWhatToDoInstead) {
  const EndpointDefaults defaults{.credentials_hint = "use the `token` option"};
  Endpoint e;
  std::string error;
  EXPECT_FALSE(parse_endpoint("https://admin:s3cr3t@api.example.com:6443", defaults, &e, &error));
  EXPECT_NE(error.find("use the `token` option"), std::string::npos) << error;
  EXPECT_EQ(error.find("s3cr3t"), std::string::npos) << error;
  EXPECT_EQ(error.find("admin:"), std::string::npos) << error;
}

TEST(HttpEndpoint, RejectsMalformedUrls) {
  const char* bad[] = {
      "ftp://host",        "host:9200",         "http://",           "http://:9200",
      "http://host:",      "http://host:0",     "http://host:65536", "http://host:92a0",
      "http://::1:9200",   "http://[::1",       "http://[::1]x",     "http://[nothost]:1",
      "http://host/x?y=1", "http://host/#frag", "http://ho st",      "http://host:9200\n",
  };
  for (const char* url : bad) {
    Endpoint e;
    std::string error;
    EXPECT_FALSE(parse_endpoint(url, EndpointDefaults{}, &e, &error)) << url;
    EXPECT_FALSE(error.empty()) << url;
  }
}

}  // namespace
}  // namespace sluice::net
