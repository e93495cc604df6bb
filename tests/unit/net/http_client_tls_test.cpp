#include "net/http_client.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ssl.hpp>

#include "http_client_test_util.hpp"
#include "support/temp_dir.hpp"

namespace sluice::net {
namespace {

using namespace test;  // NOLINT(google-build-using-namespace): the test tools
namespace ssl = boost::asio::ssl;

// TLS: certificates are made by the test (OpenSSL API) in a temporary directory.

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(extension, nullptr);
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

// A certificate for `key`, signed by the issuer (self-signed when there is none).
CertPtr make_certificate(EVP_PKEY* key, const char* common_name, X509* issuer, EVP_PKEY* issuer_key,
                         const char* subject_alt_names) {
  static long serial = 1;
  CertPtr cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (subject_alt_names == nullptr) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "CA:FALSE");
    add_extension(cert.get(), signer, NID_subject_alt_name, subject_alt_names);
  }
  X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  return cert;
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr) << path;
  if (cert != nullptr) PEM_write_X509(file, cert);
  if (key != nullptr) PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(file);
}

// Two unrelated CAs; server certificates from the first for 127.0.0.1/localhost and for another
// name only; a client certificate from the first.
class HttpClientTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<testing::TempDir>("sluice-es-tls");
    KeyPtr ca_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    KeyPtr other_ca_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    KeyPtr server_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    KeyPtr client_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    ASSERT_TRUE(ca_key && other_ca_key && server_key && client_key);
    CertPtr ca = make_certificate(ca_key.get(), "sluice test CA", nullptr, nullptr, nullptr);
    CertPtr other_ca =
        make_certificate(other_ca_key.get(), "unrelated CA", nullptr, nullptr, nullptr);
    CertPtr server = make_certificate(server_key.get(), "localhost", ca.get(), ca_key.get(),
                                      "DNS:localhost,IP:127.0.0.1");
    CertPtr elsewhere = make_certificate(server_key.get(), "es.example.com", ca.get(), ca_key.get(),
                                         "DNS:es.example.com");
    CertPtr client =
        make_certificate(client_key.get(), "sluice", ca.get(), ca_key.get(), "DNS:sluice.client");
    write_pem(path("ca.pem"), ca.get(), nullptr);
    write_pem(path("other-ca.pem"), other_ca.get(), nullptr);
    write_pem(path("server.pem"), server.get(), server_key.get());
    write_pem(path("elsewhere.pem"), elsewhere.get(), server_key.get());
    write_pem(path("client.pem"), client.get(), nullptr);
    write_pem(path("client-key.pem"), nullptr, client_key.get());
  }
  static void TearDownTestSuite() { dir_.reset(); }

  static std::string path(const char* name) { return dir_->at(name); }

  // A server context with the certificate (and key) in `pem`; with `client_ca`, clients must
  // present a certificate it signed.
  static std::unique_ptr<ssl::context> server_context(const char* pem,
                                                      const char* client_ca = nullptr) {
    auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
    context->use_certificate_chain_file(path(pem));
    context->use_private_key_file(path(pem), ssl::context::pem);
    if (client_ca != nullptr) {
      context->load_verify_file(path(client_ca));
      context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    return context;
  }

  static HttpClientOptions tls_options(const std::string& url, const char* ca_file) {
    HttpClientOptions options;
    options.endpoints = {endpoint(url)};
    if (ca_file != nullptr) options.tls.ca_file = path(ca_file);
    options.timeout_ns = 3'000'000'000;
    return options;
  }

  static inline std::unique_ptr<testing::TempDir> dir_;
};

TEST_F(HttpClientTls, VerifiesWithTheCaFileAndReusesTheConnection) {
  auto context = server_context("server.pem");
  ScriptedHttpServer server({.tls = context.get()});
  auto client = make_client(tls_options(server.url("https"), "ca.pem"));
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 2; ++i) {
    const std::string body = "tls body " + std::to_string(i) + "\n";
    const HttpResult result = send_sync(*client, post(body));
    ASSERT_TRUE(result.responded) << result.error;
    EXPECT_EQ(result.status, 200);
    EXPECT_EQ(server.requests().at(static_cast<size_t>(i)).body, body);
  }
  EXPECT_EQ(server.connections(), 1U);
}

TEST_F(HttpClientTls, VerifiesTheNameLocalhost) {
  auto context = server_context("server.pem");
  ScriptedHttpServer server({.tls = context.get()});
  auto client =
      make_client(tls_options("https://localhost:" + std::to_string(server.port()), "ca.pem"));
  ASSERT_NE(client, nullptr);
  const HttpResult result = send_sync(*client, post("x\n"));
  ASSERT_TRUE(result.responded) << result.error;
}

TEST_F(HttpClientTls, WrongCaFailsWithAClearError) {
  auto context = server_context("server.pem");
  ScriptedHttpServer server({.tls = context.get()});
  auto client = make_client(tls_options(server.url("https"), "other-ca.pem"));
  ASSERT_NE(client, nullptr);
  const HttpResult result = send_sync(*client, post("x\n"));
  EXPECT_FALSE(result.responded);
  EXPECT_NE(result.error.find("TLS handshake with " + server.url("https")), std::string::npos)
      << result.error;
  EXPECT_NE(result.error.find("certificate verify failed: unable to get local issuer"),
            std::string::npos)
      << result.error;
  EXPECT_EQ(server.request_count(), 0U);
  EXPECT_EQ(client->healthy_endpoints(), 0U);
}

TEST_F(HttpClientTls, HostNameMismatchFails) {
  auto context = server_context("elsewhere.pem");
  ScriptedHttpServer server({.tls = context.get()});
  auto client = make_client(tls_options(server.url("https"), "ca.pem"));
  ASSERT_NE(client, nullptr);
  const HttpResult result = send_sync(*client, post("x\n"));
  EXPECT_FALSE(result.responded);
  EXPECT_NE(
      result.error.find("certificate verify failed: the certificate is not valid for 127.0.0.1"),
      std::string::npos)
      << result.error;
  EXPECT_EQ(server.request_count(), 0U);
}

TEST_F(HttpClientTls, VerifyOffAcceptsAnyCertificate) {
  auto context = server_context("elsewhere.pem");
  ScriptedHttpServer server({.tls = context.get()});
  HttpClientOptions options = tls_options(server.url("https"), "other-ca.pem");
  options.tls.verify = false;
  auto client = make_client(std::move(options));
  ASSERT_NE(client, nullptr);
  const HttpResult result = send_sync(*client, post("x\n"));
  ASSERT_TRUE(result.responded) << result.error;
  EXPECT_EQ(result.status, 200);
}

TEST_F(HttpClientTls, ClientCertificateIsPresented) {
  auto context = server_context("server.pem", "ca.pem");
  ScriptedHttpServer server({.tls = context.get()});
  HttpClientOptions with_cert = tls_options(server.url("https"), "ca.pem");
  with_cert.tls.cert_file = path("client.pem");
  with_cert.tls.key_file = path("client-key.pem");
  auto client = make_client(std::move(with_cert));
  ASSERT_NE(client, nullptr);
  const HttpResult result = send_sync(*client, post("x\n"));
  ASSERT_TRUE(result.responded) << result.error;

  auto anonymous = make_client(tls_options(server.url("https"), "ca.pem"));
  ASSERT_NE(anonymous, nullptr);
  EXPECT_FALSE(send_sync(*anonymous, post("x\n")).responded);
  EXPECT_EQ(server.request_count(), 1U);
}

TEST_F(HttpClientTls, CreateFailsOnBadFiles) {
  std::string error;
  HttpClientOptions options = tls_options("https://127.0.0.1:1", nullptr);
  options.tls.ca_file = path("missing.pem");
  EXPECT_EQ(HttpClient::create(options, &error), nullptr);
  EXPECT_NE(error.find("missing.pem"), std::string::npos) << error;

  options.tls.ca_file = path("ca.pem");
  options.tls.cert_file = path("client.pem");
  error.clear();
  EXPECT_EQ(HttpClient::create(options, &error), nullptr);
  EXPECT_NE(error.find("key_file"), std::string::npos) << error;

  options.tls.key_file = path("server.pem");  // another certificate's key
  error.clear();
  EXPECT_EQ(HttpClient::create(options, &error), nullptr);
  EXPECT_NE(error.find("client.pem"), std::string::npos) << error;
  EXPECT_NE(error.find("mismatch"), std::string::npos) << error;

  // Plain endpoints need no TLS context: bad TLS files are not looked at.
  options.endpoints = {endpoint("http://127.0.0.1:1")};
  EXPECT_NE(HttpClient::create(options, &error), nullptr);
}

}  // namespace
}  // namespace sluice::net
