// rspctl's live views (tools/rspctl_views.h): the tables made from the
// management interface's documents (docs/management.md), and that a
// malformed document is an error naming the field, never a crash.

#include "tools/rspctl_views.h"

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rspd::tools {
namespace {

using Json = nlohmann::json;
using ::testing::HasSubstr;

Json StatusDoc() {
  return Json::parse(R"({
    "version": "0.1.0", "server_id": 305419896, "uptime_seconds": 90061.5,
    "secure": false, "ready": true, "io": "socket", "pools": 3, "pool_elements": 10,
    "owned_pool_elements": 4, "asap_sessions": 2, "associations": 5, "peers": 1,
    "rates": {"asap_messages_per_second": 120.0, "registrations_per_second": 3.0,
              "resolutions_per_second": 100.0, "enrp_messages_per_second": 2.0},
    "counters": {"registrations": 5}, "a_field_from_the_future": [1, 2]})");
}

Json PoolsDoc() {
  return Json::parse(R"({"total": 5, "truncated": true, "pools": [
    {"handle": "echo", "handle_hex": "6563686f", "policy": "Round Robin",
     "elements": 3, "owned": 2, "registrations": 5, "resolutions": 12},
    {"handle": null, "handle_hex": "0001ff", "policy": "Least Used",
     "elements": 1, "owned": 0, "registrations": 1, "resolutions": 0}]})");
}

Json PoolDoc() {
  return Json::parse(R"({
    "handle": "echo", "handle_hex": "6563686f", "policy": "Weighted Round Robin",
    "elements_total": 3, "owned": 1, "truncated": true, "registrations": 5, "resolutions": 12,
    "elements": [
      {"id": 1234, "home": 305419896, "owned": true, "registration_life_ms": 30000,
       "expires_in_ms": 2500,
       "policy": {"type": "Weighted Round Robin", "weight": 7, "load": 0,
                  "load_degradation": 0, "dpf": 0, "distance": 0},
       "selection": {"next": true, "degradation": 0},
       "user_transport": {"protocol": "sctp", "port": 7, "use": "data_only",
                          "addresses": ["10.0.0.1", "2001:db8::1"]},
       "asap_transport": {"port": 3863, "udp_port": 9899, "addresses": ["10.0.0.1"]}},
      {"id": 4294967295, "home": 287454020, "owned": false, "registration_life_ms": null,
       "expires_in_ms": null,
       "policy": {"type": "Weighted Round Robin", "weight": 3, "load": 0,
                  "load_degradation": 0, "dpf": 0, "distance": 0},
       "selection_rank": 1,
       "user_transport": {"protocol": "tcp", "port": 80, "use": "data_only", "addresses": []},
       "asap_transport": {"port": 3863, "udp_port": 0, "addresses": ["10.0.0.2"]}}]})");
}

Json PeersDoc() {
  return Json::parse(R"({"peers": [
    {"server_id": 287454020, "address": "127.0.0.1:9899", "state": "probed",
     "last_heard_ms": 1500, "pool_elements": 4}]})");
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// A screen's lines, the blank ones kept.
std::vector<std::string> ScreenLines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// The line of `text` that starts with `prefix`, or "".
std::string LineStarting(const std::string& text, const std::string& prefix) {
  for (const std::string& line : Lines(text)) {
    if (absl::StartsWith(line, prefix)) return line;
  }
  return "";
}

TEST(FormatStatusTest, ShowsCountsHexServerIdAndRates) {
  absl::StatusOr<std::string> text = FormatStatus(StatusDoc());
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(LineStarting(*text, "server ID"), "server ID     0x12345678");
  EXPECT_EQ(LineStarting(*text, "uptime"), "uptime        1d 01:01:01");
  EXPECT_EQ(LineStarting(*text, "ready"), "ready         yes");
  EXPECT_EQ(LineStarting(*text, "secure"), "secure        no");
  EXPECT_EQ(LineStarting(*text, "pools"), "pools         3");
  EXPECT_EQ(LineStarting(*text, "PEs"), "PEs           10 (4 owned)");
  EXPECT_EQ(LineStarting(*text, "sessions"), "sessions      2");
  EXPECT_THAT(LineStarting(*text, "per second"), HasSubstr("100.0 resolutions"));
  EXPECT_THAT(LineStarting(*text, "per second"), HasSubstr("3.0 registrations"));
}

TEST(FormatStatusTest, MissingOrMistypedFieldIsAnErrorNamingIt) {
  Json doc = StatusDoc();
  doc.erase("pools");
  absl::StatusOr<std::string> text = FormatStatus(doc);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().message(), "malformed answer from rspd: pools is missing");

  doc = StatusDoc();
  doc["rates"]["resolutions_per_second"] = "fast";
  text = FormatStatus(doc);
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(text.status().message(), HasSubstr("rates.resolutions_per_second is not a number"));

  doc = StatusDoc();
  doc["server_id"] = uint64_t{4294967296};  // 33 bits
  EXPECT_EQ(std::string(FormatStatus(doc).status().message()),
            "malformed answer from rspd: server_id is not a 32-bit ID");
  doc["server_id"] = -1;
  EXPECT_THAT(FormatStatus(doc).status().message(),
              HasSubstr("server_id is not an unsigned integer"));
  EXPECT_THAT(FormatStatus(Json::array()).status().message(), HasSubstr("is not an object"));
}

TEST(FormatPoolsTest, TableInServerOrderWithNullHandleAsHexAndTruncationLine) {
  absl::StatusOr<std::string> text = FormatPools(PoolsDoc());
  ASSERT_TRUE(text.ok()) << text.status();
  const std::vector<std::string> lines = Lines(*text);
  ASSERT_EQ(lines.size(), 4u) << *text;
  EXPECT_EQ(lines[0], "HANDLE    POLICY       PES  OWNED  REGISTRATIONS  RESOLUTIONS");
  EXPECT_EQ(lines[1], "echo      Round Robin    3      2              5           12");
  EXPECT_EQ(lines[2], "0x0001ff  Least Used     1      0              1            0");
  EXPECT_EQ(lines[3], "(2 of 5 pools shown; --limit shows more, up to 100000)");
}

TEST(FormatPoolsTest, NoTruncationLineWhenAllAreShown) {
  Json doc = PoolsDoc();
  doc["truncated"] = false;
  absl::StatusOr<std::string> text = FormatPools(doc);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(Lines(*text).size(), 3u);
  EXPECT_FALSE(absl::StrContains(*text, "shown"));
  doc["pools"] = Json::array();
  EXPECT_EQ(*FormatPools(doc), "no pools\n");
}

TEST(FormatPoolsTest, PrintableTextInHandleThatIsNotPrintableIsShownAsHex) {
  Json doc = PoolsDoc();
  doc["pools"][0]["handle"] = "ec\x1bho";  // an escape sequence must not reach the terminal
  absl::StatusOr<std::string> text = FormatPools(doc);
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr("0x6563686f"));
  EXPECT_FALSE(absl::StrContains(*text, "\x1b"));
}

TEST(FormatPoolTest, AttributesAndPeTableWithHexIdsOwnMarkAndPolicyValues) {
  absl::StatusOr<std::string> text = FormatPool(PoolDoc());
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(LineStarting(*text, "pool "), "pool           echo (hex 6563686f)");
  EXPECT_EQ(LineStarting(*text, "PEs"), "PEs            3 (1 owned by this registrar)");
  const std::string first = LineStarting(*text, "0x000004d2");
  EXPECT_THAT(first, HasSubstr("0x12345678*"));
  EXPECT_THAT(first, HasSubstr("Weighted Round Robin weight=7"));
  EXPECT_THAT(first, HasSubstr("yes"));
  EXPECT_THAT(first, HasSubstr("2.5s"));
  EXPECT_THAT(first, HasSubstr("sctp:10.0.0.1:7,[2001:db8::1]:7"));
  EXPECT_THAT(first, HasSubstr("10.0.0.1:3863 udp 9899"));
  const std::string second = LineStarting(*text, "0xffffffff");
  EXPECT_THAT(second, HasSubstr("0x11223344 "));
  EXPECT_FALSE(absl::StrContains(second, "0x11223344*"));
  EXPECT_THAT(second, HasSubstr("weight=3  no"));  // rank 1: not next
  EXPECT_THAT(second, HasSubstr("tcp::80"));
  EXPECT_FALSE(absl::StrContains(second, "udp 0"));
  EXPECT_EQ(Lines(*text).back(), "(2 of 3 PEs shown; --limit shows more, up to 100000)");
}

TEST(FormatPoolTest, MalformedElementIsAnErrorNamingIt) {
  Json doc = PoolDoc();
  doc["elements"][1]["id"] = "1234";
  EXPECT_EQ(FormatPool(doc).status().message(),
            "malformed answer from rspd: elements[1].id is not an unsigned integer");
  doc = PoolDoc();
  doc["elements"][0]["user_transport"]["addresses"] = Json::array({1});
  EXPECT_THAT(FormatPool(doc).status().message(),
              HasSubstr("elements[0].user_transport.addresses holds something"));
  doc = PoolDoc();
  doc["elements"][0].erase("policy");
  EXPECT_THAT(FormatPool(doc).status().message(), HasSubstr("elements[0].policy is missing"));
  doc = PoolDoc();
  doc["elements"] = Json::object();
  EXPECT_THAT(FormatPool(doc).status().message(), HasSubstr("elements is not an array"));
}

TEST(FormatPeersTest, TableAndNone) {
  absl::StatusOr<std::string> text = FormatPeers(PeersDoc());
  ASSERT_TRUE(text.ok()) << text.status();
  const std::vector<std::string> lines = Lines(*text);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "SERVER ID   ADDRESS         STATE   LAST HEARD  PES");
  EXPECT_EQ(lines[1], "0x11223344  127.0.0.1:9899  probed    1.5s ago    4");
  EXPECT_EQ(*FormatPeers(Json::parse(R"({"peers": []})")), "no peers\n");
  EXPECT_FALSE(FormatPeers(Json::parse(R"({"peers": [7]})")).ok());
}

TEST(PercentEncodeTest, EncodesAllButUnreserved) {
  EXPECT_EQ(PercentEncode("a b&c=d/e~f.g-h_i"), "a%20b%26c%3Dd%2Fe~f.g-h_i");
  EXPECT_EQ(PercentEncode(std::string("\x00\xff", 2)), "%00%FF");
}

// Every leaf of each document replaced by each wrong type, and every member
// removed: the formatter answers (a table or an error), it never crashes.
TEST(MalformedDocumentTest, NoMutationCrashes) {
  const std::vector<Json> wrong = {nullptr,        "x", -1, 1.5, 99999999999, Json::array(),
                                   Json::object(), true};
  const std::vector<std::pair<Json, std::function<absl::StatusOr<std::string>(const Json&)>>>
      cases = {{StatusDoc(), FormatStatus},
               {PoolsDoc(), FormatPools},
               {PoolDoc(), FormatPool},
               {PeersDoc(), FormatPeers},
               {StatusDoc(),
                [](const Json& status) {
                  TopView view;
                  return view.Render(status, PoolsDoc(), absl::UnixEpoch(), 40, 120);
                }},
               {PoolsDoc(), [](const Json& pools) {
                  TopView view;
                  (void)view.Render(StatusDoc(), pools, absl::UnixEpoch(), 40, 120);
                  return view.Render(StatusDoc(), pools, absl::UnixEpoch() + absl::Seconds(1), 40,
                                     120);
                }}};
  int errors = 0;
  for (const auto& [doc, format] : cases) {
    const Json flat = doc.flatten();
    for (const auto& [pointer, value] : flat.items()) {
      const Json::json_pointer at(pointer);
      for (const Json& w : wrong) {
        Json mutated = doc;
        mutated[at] = w;
        const absl::StatusOr<std::string> text = format(mutated);
        if (!text.ok()) {
          ++errors;
          EXPECT_THAT(text.status().message(), HasSubstr("malformed answer from rspd: "));
        }
      }
      Json removed = doc;
      Json& parent = removed[at.parent_pointer()];
      if (parent.is_array()) {
        parent.erase(std::stoul(at.back()));
      } else {
        parent.erase(at.back());
      }
      (void)format(removed);
    }
  }
  EXPECT_GT(errors, 100);
}

Json PoolsWith(uint64_t echo_resolutions, uint64_t quiet_resolutions) {
  Json doc = Json::parse(R"({"total": 2, "truncated": false, "pools": [
    {"handle": "quiet", "handle_hex": "7175696574", "policy": "Round Robin",
     "elements": 1, "owned": 1, "registrations": 0, "resolutions": 0},
    {"handle": "echo", "handle_hex": "6563686f", "policy": "Round Robin",
     "elements": 3, "owned": 3, "registrations": 1, "resolutions": 0}]})");
  doc["pools"][0]["resolutions"] = quiet_resolutions;
  doc["pools"][1]["resolutions"] = echo_resolutions;
  return doc;
}

TEST(TopViewTest, RatesFromTheDifferenceBetweenRefreshesSortedByRate) {
  TopView view;
  const absl::Time t0 = absl::UnixEpoch();
  // Cumulatively, quiet is the busiest (the server's order).
  absl::StatusOr<std::string> first = view.Render(StatusDoc(), PoolsWith(100, 1000), t0, 40, 200);
  ASSERT_TRUE(first.ok()) << first.status();
  std::vector<std::string> lines = ScreenLines(*first);
  EXPECT_THAT(lines[0], HasSubstr("server ID 0x12345678"));
  EXPECT_THAT(lines[2], HasSubstr("100.0 resolutions"));
  ASSERT_GE(lines.size(), 6u);
  EXPECT_TRUE(absl::StartsWith(lines[5], "quiet")) << *first;
  EXPECT_THAT(lines[5], HasSubstr("  -  "));  // no rate yet

  // Two seconds later echo resolved 50 more, quiet none: echo first, 25/s.
  absl::StatusOr<std::string> second =
      view.Render(StatusDoc(), PoolsWith(150, 1000), t0 + absl::Seconds(2), 40, 200);
  ASSERT_TRUE(second.ok());
  lines = ScreenLines(*second);
  ASSERT_GE(lines.size(), 7u);
  EXPECT_TRUE(absl::StartsWith(lines[5], "echo")) << *second;
  EXPECT_THAT(lines[5], HasSubstr("0.0   25.0"));
  EXPECT_TRUE(absl::StartsWith(lines[6], "quiet")) << *second;
  EXPECT_THAT(lines[6], HasSubstr("0.0    0.0"));
}

TEST(TopViewTest, FitsTheScreen) {
  TopView view;
  absl::StatusOr<std::string> text =
      view.Render(StatusDoc(), PoolsWith(1, 2), absl::UnixEpoch(), 6, 20);
  ASSERT_TRUE(text.ok());
  const std::vector<std::string> lines = ScreenLines(*text);
  EXPECT_EQ(lines.size(), 6u);
  for (const std::string& line : lines) EXPECT_LE(line.size(), 20u);
  EXPECT_EQ(TopView::PoolRows(40), 35);
  EXPECT_EQ(TopView::PoolRows(3), 1);
}

TEST(TopViewTest, MalformedDocumentIsRememberedNot) {
  TopView view;
  Json bad = PoolsWith(100, 0);
  bad["pools"][1]["resolutions"] = "many";
  EXPECT_FALSE(view.Render(StatusDoc(), bad, absl::UnixEpoch(), 40, 200).ok());
  // The next good refresh is a first one: no rates.
  absl::StatusOr<std::string> text =
      view.Render(StatusDoc(), PoolsWith(100, 0), absl::UnixEpoch() + absl::Seconds(1), 40, 200);
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(LineStarting(*text, "echo"), HasSubstr("  -  "));
}

}  // namespace
}  // namespace rspd::tools
