#include "control/management/server.h"

#include <atomic>
#include <nlohmann/json.hpp>

#include "control/management/http_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rspd::control::management {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

// The registrar's side, answered from fixed snapshots; `answering` false
// plays a registrar whose I/O thread does not answer.
class FixedSource : public Source {
 public:
  std::atomic<bool> answering{true};
  std::string last_handle;
  size_t last_max = 0;

  bool Status(StatusSnapshot* out, absl::Duration) override {
    out->server_id = 99;
    out->families.push_back({"registrations", "help", Family::kCounter, {{"", "", 3}}});
    return answering;
  }
  bool Pools(PoolsSnapshot* out, absl::Duration) override {
    out->total = 2;
    out->pools.resize(2);
    out->pools[0].handle = "zeta";
    out->pools[1].handle = "alpha";
    return answering;
  }
  bool Pool(const std::string& handle, size_t max, PoolSnapshot* out, absl::Duration) override {
    last_handle = handle;
    last_max = max;
    out->found = handle == "echo" || handle == std::string("\x00\x01", 2);
    out->pool.handle = handle;
    return answering;
  }
  bool Peers(PeersSnapshot* out, absl::Duration) override {
    out->peers.push_back({5, "127.0.0.1:1", "active", 1, 0});
    return answering;
  }
};

class ManagementServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<ManagementServer>> server =
        ManagementServer::Start("127.0.0.1:0", &source_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  HttpResponse Get(const std::string& path) {
    absl::StatusOr<HttpResponse> r = HttpGet(server_->address(), path, absl::Seconds(10));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : HttpResponse();
  }
  uint64_t Counter(const std::string& name) {
    uint64_t out = 0;
    server_->ForEachCounter([&](const char* n, const char*, uint64_t v) {
      if (name == n) out = v;
    });
    return out;
  }
  FixedSource source_;
  std::unique_ptr<ManagementServer> server_;
};

TEST_F(ManagementServerTest, MetricsAreOpenMetricsWithTheServersOwnCounters) {
  const HttpResponse r = Get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.content_type, HasSubstr("application/openmetrics-text"));
  EXPECT_THAT(r.body, HasSubstr("rspd_registrations_total 3\n"));
  EXPECT_THAT(r.body, HasSubstr("rspd_management_requests_total"));
  EXPECT_EQ(Counter("management_requests"), 1u);
}

TEST_F(ManagementServerTest, JsonViews) {
  HttpResponse r = Get("/api/status");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(Json::parse(r.body)["server_id"], 99);

  r = Get("/api/pools?limit=1");
  ASSERT_EQ(r.status, 200);
  Json j = Json::parse(r.body);
  ASSERT_EQ(j["pools"].size(), 1u);
  EXPECT_EQ(j["pools"][0]["handle"], "alpha");
  EXPECT_TRUE(j["truncated"].get<bool>());

  r = Get("/api/pool?handle=echo&limit=7");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(source_.last_max, 7u);
  r = Get("/api/pool?handle_hex=0001");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(source_.last_handle, std::string("\x00\x01", 2));
  r = Get("/api/pool?handle=e%63ho");  // URL-decoded
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(source_.last_handle, "echo");

  r = Get("/api/peers");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Json::parse(r.body)["peers"][0]["server_id"], 5);
}

TEST_F(ManagementServerTest, BadRequestsAreRefusedAndCounted) {
  EXPECT_EQ(Get("/api/pools?sort=size").status, 400);
  EXPECT_EQ(Get("/api/pools?limit=0").status, 400);
  EXPECT_EQ(Get("/api/pools?limit=100001").status, 400);
  EXPECT_EQ(Get("/api/pools?limit=-1").status, 400);
  EXPECT_EQ(Get("/api/pool").status, 400);
  EXPECT_EQ(Get("/api/pool?handle_hex=zz").status, 400);
  EXPECT_EQ(Get("/api/pool?handle_hex=abc").status, 400);
  EXPECT_EQ(Get("/api/pool?handle=a&handle_hex=61").status, 400);
  EXPECT_EQ(Get("/api/pool?handle=" + std::string(3000, 'x')).status, 400);
  const HttpResponse unknown = Get("/api/pool?handle=nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Json::parse(unknown.body)["error"], "unknown pool");
  EXPECT_EQ(Get("/nothing").status, 404);
  EXPECT_EQ(Counter("management_bad_requests"), 11u);
  EXPECT_EQ(Counter("management_requests"), 0u);
}

TEST_F(ManagementServerTest, ARegistrarThatDoesNotAnswerIs503) {
  source_.answering = false;
  const HttpResponse r = Get("/api/status");
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(Json::parse(r.body)["error"].get<std::string>(), HasSubstr("did not answer"));
  EXPECT_EQ(Get("/metrics").status, 503);
  EXPECT_EQ(Counter("management_timeouts"), 2u);
}

TEST(ManagementServerStartTest, BadAddressesAndBusyPortsAreErrors) {
  FixedSource source;
  EXPECT_FALSE(ManagementServer::Start("localhost", &source).ok());
  EXPECT_FALSE(ManagementServer::Start("example.com:80", &source).ok());
  EXPECT_FALSE(ManagementServer::Start("127.0.0.1:70000", &source).ok());
  EXPECT_FALSE(ManagementServer::Start("127.0.0.1:+80", &source).ok());
  EXPECT_FALSE(ManagementServer::Start("127.0.0.1: 80", &source).ok());
  EXPECT_FALSE(ManagementServer::Start("127.0.0.1:", &source).ok());
  // Where civetweb has no IPv6, a clear refusal already when the flag is
  // read, instead of a failed listen.
  absl::StatusOr<protocol::HostPort> v6 = ParseListenAddress("[::1]:0");
  if (!v6.ok()) {
    EXPECT_THAT(std::string(v6.status().message()), HasSubstr("no IPv6"));
  } else {
    EXPECT_TRUE(ManagementServer::Start("[::1]:0", &source).ok());
  }
  absl::StatusOr<std::unique_ptr<ManagementServer>> first =
      ManagementServer::Start("127.0.0.1:0", &source);
  ASSERT_TRUE(first.ok());
  absl::StatusOr<std::unique_ptr<ManagementServer>> second =
      ManagementServer::Start((*first)->address(), &source);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("cannot listen"));
}

TEST(HttpGetTest, NothingListeningIsUnavailable) {
  FixedSource source;
  std::string address;
  {
    absl::StatusOr<std::unique_ptr<ManagementServer>> s =
        ManagementServer::Start("127.0.0.1:0", &source);
    ASSERT_TRUE(s.ok());
    address = (*s)->address();
  }
  absl::StatusOr<HttpResponse> r = HttpGet(address, "/metrics", absl::Seconds(5));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(HttpGet("nonsense", "/", absl::Seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rspd::control::management
