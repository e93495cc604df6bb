// es::parse_endpoint(): the elasticsearch sink's `endpoints` URLs, with Elasticsearch's default
// port and the sink's `auth` option named when a URL carries credentials.
#include "sinks/elasticsearch/es_endpoint.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sluice::es {
namespace {

TEST(EsEndpoint, DefaultPortsAre9200And443) {
  net::Endpoint e;
  std::string error;
  ASSERT_TRUE(parse_endpoint("http://localhost", &e, &error)) << error;
  EXPECT_FALSE(e.tls);
  EXPECT_EQ(e.host, "localhost");
  EXPECT_EQ(e.port, "9200");
  EXPECT_EQ(e.url, "http://localhost");

  ASSERT_TRUE(parse_endpoint("https://es.example.com/", &e, &error)) << error;
  EXPECT_TRUE(e.tls);
  EXPECT_EQ(e.port, "443");

  ASSERT_TRUE(parse_endpoint("http://[fe80::1]/proxy/es/", &e, &error)) << error;
  EXPECT_EQ(e.host, "fe80::1");
  EXPECT_EQ(e.port, "9200");
  EXPECT_EQ(e.base_path, "/proxy/es");
}

TEST(EsEndpoint, RefusesCredentialsPointingToAuthWithoutEchoingThem) {
  net::Endpoint e;
  std::string error;
  EXPECT_FALSE(parse_endpoint("https://elastic:s3cr3t@es.example.com:9200", &e, &error));
  EXPECT_NE(error.find("set `auth` instead"), std::string::npos) << error;
  EXPECT_EQ(error.find("s3cr3t"), std::string::npos) << error;
  EXPECT_EQ(error.find("elastic:"), std::string::npos) << error;
}

}  // namespace
}  // namespace sluice::es
