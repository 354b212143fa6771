#include "control/management/render.h"

#include <nlohmann/json.hpp>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rspd::control::management {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Json = nlohmann::json;

StatusSnapshot SampleStatus() {
  StatusSnapshot s;
  s.server_id = 0x12345678;
  s.pools = 2;
  s.rates.resolutions = 42.5;
  s.families.push_back({"registrations", "new PEs registered", Family::kCounter, {{"", "", 5}}});
  s.families.push_back({"pools", "pools (gauge)", Family::kGauge, {{"", "", 2}}});
  s.families.push_back({"asap_messages_received",
                        "ASAP messages by type",
                        Family::kCounter,
                        {{"type", "ASAP_REGISTRATION", 7}, {"type", "we\"ird\\", 1}}});
  Histogram h;
  h.name = "resolution_latency_seconds";
  h.help = "resolution latency";
  h.buckets = {{0.0, 1}, {0.001, 3}, {0.005, 3}, {0.01, 4}, {1.0, 4}};
  h.count = 5;
  h.sum = 0.25;
  s.histograms.push_back(h);
  return s;
}

TEST(RenderOpenMetricsTest, CountersGaugesLabelsHistogramsAndEof) {
  const std::string text = RenderOpenMetrics(SampleStatus());
  EXPECT_THAT(text, HasSubstr("# TYPE rspd_registrations counter\n"));
  EXPECT_THAT(text, HasSubstr("\nrspd_registrations_total 5\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE rspd_pools gauge\n"));
  EXPECT_THAT(text, HasSubstr("\nrspd_pools 2\n"));
  EXPECT_THAT(text, HasSubstr("rspd_asap_messages_received_total{type=\"ASAP_REGISTRATION\"} 7\n"));
  // OpenMetrics: quote and backslash in label values are escaped.
  EXPECT_THAT(text, HasSubstr("{type=\"we\\\"ird\\\\\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE rspd_resolution_latency_seconds histogram\n"));
  // Canonical numbers (OpenMetrics): shortest round trip, ".0" on integers.
  EXPECT_THAT(text, HasSubstr("rspd_resolution_latency_seconds_bucket{le=\"0.0\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("rspd_resolution_latency_seconds_bucket{le=\"0.001\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("rspd_resolution_latency_seconds_bucket{le=\"0.005\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("rspd_resolution_latency_seconds_bucket{le=\"1.0\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("rspd_resolution_latency_seconds_bucket{le=\"+Inf\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("rspd_resolution_latency_seconds_count 5\n"));
  EXPECT_THAT(text, HasSubstr("rspd_resolution_latency_seconds_sum 0.25\n"));
  ASSERT_GE(text.size(), 6u);
  EXPECT_EQ(text.substr(text.size() - 6), "# EOF\n");
}

TEST(RenderStatusJsonTest, EveryUnlabelledFamilyIsACounterByName) {
  const Json j = Json::parse(RenderStatusJson(SampleStatus()));
  EXPECT_EQ(j["server_id"], 0x12345678u);
  EXPECT_EQ(j["pools"], 2);
  EXPECT_DOUBLE_EQ(j["rates"]["resolutions_per_second"].get<double>(), 42.5);
  EXPECT_EQ(j["counters"]["registrations"], 5);
  EXPECT_EQ(j["counters"]["pools"], 2);
  EXPECT_FALSE(j["counters"].contains("asap_messages_received"));  // labelled
}

PoolsSnapshot SamplePools() {
  PoolsSnapshot s;
  s.total = 3;
  auto add = [&](std::string handle, size_t elements, uint64_t busy) {
    handlespace::PoolTable::PoolSummary p;
    p.handle = std::move(handle);
    p.elements = elements;
    p.resolutions = busy;
    s.pools.push_back(p);
  };
  add("b", 5, 1);
  add("a", 1, 100);
  add(std::string("\x01\xff", 2), 9, 0);
  return s;
}

TEST(RenderPoolsJsonTest, SortsAndLimits) {
  PoolsSnapshot by_handle = SamplePools();
  Json j = Json::parse(RenderPoolsJson(by_handle, PoolOrder::kHandle, 10));
  ASSERT_EQ(j["pools"].size(), 3u);
  EXPECT_TRUE(j["pools"][0]["handle"].is_null());  // \x01\xff sorts first and is not printable
  EXPECT_EQ(j["pools"][0]["handle_hex"], "01ff");
  EXPECT_EQ(j["pools"][1]["handle"], "a");
  EXPECT_FALSE(j["truncated"].get<bool>());

  PoolsSnapshot by_elements = SamplePools();
  j = Json::parse(RenderPoolsJson(by_elements, PoolOrder::kElements, 2));
  ASSERT_EQ(j["pools"].size(), 2u);
  EXPECT_EQ(j["pools"][0]["handle_hex"], "01ff");
  EXPECT_EQ(j["pools"][1]["handle"], "b");
  EXPECT_TRUE(j["truncated"].get<bool>());
  EXPECT_EQ(j["total"], 3);

  PoolsSnapshot busiest = SamplePools();
  j = Json::parse(RenderPoolsJson(busiest, PoolOrder::kBusiest, 1));
  EXPECT_EQ(j["pools"][0]["handle"], "a");
}

TEST(RenderPoolJsonTest, ElementsWithOwnerExpiryAndTransports) {
  PoolSnapshot p;
  p.found = true;
  p.home = 7;
  p.now = 1000;
  p.pool.handle = "echo";
  p.pool.elements = 2;
  handlespace::PoolTable::ElementDetail mine;
  mine.pe.id = 11;
  mine.pe.home = 7;
  mine.pe.registration_life = 30;
  mine.pe.user.port = 7;
  mine.pe.user.addresses.push_back(*protocol::IpAddress::Parse("10.0.0.1"));
  mine.expiry = 3500;
  mine.next = true;
  handlespace::PoolTable::ElementDetail theirs = mine;
  theirs.pe.id = 12;
  theirs.pe.home = 8;
  theirs.expiry = handlespace::kNever;
  theirs.next = false;
  p.elements = {mine, theirs};
  const Json j = Json::parse(RenderPoolJson(p));
  EXPECT_EQ(j["handle"], "echo");
  EXPECT_EQ(j["elements_total"], 2);
  ASSERT_EQ(j["elements"].size(), 2u);
  EXPECT_EQ(j["elements"][0]["id"], 11);
  EXPECT_TRUE(j["elements"][0]["owned"].get<bool>());
  EXPECT_EQ(j["elements"][0]["expires_in_ms"], 2500);
  EXPECT_EQ(j["elements"][0]["registration_life_ms"], 30000);
  EXPECT_TRUE(j["elements"][0]["selection"]["next"].get<bool>());
  EXPECT_EQ(j["elements"][0]["user_transport"]["addresses"][0], "10.0.0.1");
  EXPECT_EQ(j["elements"][0]["user_transport"]["protocol"], "sctp");
  EXPECT_FALSE(j["elements"][1]["owned"].get<bool>());
  EXPECT_TRUE(j["elements"][1]["expires_in_ms"].is_null());
}

TEST(RenderPeersJsonTest, Peers) {
  PeersSnapshot s;
  s.peers.push_back({0x11223344, "127.0.0.1:9899", "active", 120, 4});
  const Json j = Json::parse(RenderPeersJson(s));
  EXPECT_EQ(j["peers"][0]["server_id"], 0x11223344u);
  EXPECT_EQ(j["peers"][0]["state"], "active");
  EXPECT_EQ(j["peers"][0]["pool_elements"], 4);
}

TEST(PrintableHandleTest, OnlyPrintableAscii) {
  EXPECT_EQ(PrintableHandle("echo-1"), "echo-1");
  EXPECT_FALSE(PrintableHandle("").has_value());
  EXPECT_FALSE(PrintableHandle(std::string("a\0b", 3)).has_value());
  EXPECT_FALSE(PrintableHandle("caf\xc3\xa9").has_value());
  EXPECT_THAT(RenderErrorJson("x\"y"), StartsWith("{\"error\":\"x\\\"y\"}"));
}

}  // namespace
}  // namespace rspd::control::management
