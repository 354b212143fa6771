#include "protocol/describe.h"

#include <string>

#include "gtest/gtest.h"
#include "protocol/testing/samples.h"

namespace rspd::protocol {
namespace {

Message DecodeSample(const std::string& name, std::vector<testing::Sample>& keep) {
  keep = testing::AllSamples();
  for (const testing::Sample& s : keep) {
    if (s.name == name) {
      Message m;
      DecodeError error;
      EXPECT_TRUE(DecodeMessage(s.protocol, s.bytes, &m, &error));
      return m;
    }
  }
  ADD_FAILURE() << name;
  return Message();
}

TEST(DescribeTest, RegistrationLineNamesEveryField) {
  std::vector<testing::Sample> keep;
  Message m = DecodeSample("asap_registration_sctp_lud", keep);
  std::string line = DescribeMessage(m);
  EXPECT_EQ(line.rfind("ASAP_REGISTRATION flags=0x00 handle=\"echo\" pe{id=0x", 0), 0u) << line;
  EXPECT_NE(line.find("user=sctp:7[10.0.0.1,10.0.0.2,2001:db8::42]+control"), std::string::npos)
      << line;
  EXPECT_NE(line.find("\"Least Used with Degradation\"(0x40000002)[0x10000000,0x01000000]"),
            std::string::npos)
      << line;
}

TEST(DescribeTest, JsonCarriesTheFieldsToolsNeed) {
  std::vector<testing::Sample> keep;
  Message m = DecodeSample("asap_handle_resolution_response_3", keep);
  std::string json = MessageToJson(m);
  EXPECT_EQ(json.rfind("{\"proto\":\"asap\",\"type\":\"ASAP_HANDLE_RESOLUTION_RESPONSE\"", 0), 0u);
  EXPECT_NE(json.find("\"pe_id\":2654435761,\"home_registrar\":286331153"), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"transport\":\"sctp\",\"port\":20000,\"addresses\":[\"10.0.0.1\","
                      "\"10.0.0.2\"]"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"policy\":\"Least Used\""), std::string::npos) << json;
}

TEST(DescribeTest, JsonEscapesOpaqueHandles) {
  Message m;
  m.type = static_cast<uint8_t>(AsapType::kHandleResolution);
  m.has_pool_handle = true;
  m.pool_handle = absl::string_view("a\"b\\c\x01", 6);
  EXPECT_NE(MessageToJson(m).find("\"pool_handle\":\"a\\\"b\\\\c\\u0001\""), std::string::npos)
      << MessageToJson(m);
  EXPECT_NE(DescribeMessage(m).find("handle=\"a\\x22b\\x5cc\\x01\""), std::string::npos)
      << DescribeMessage(m);
}

}  // namespace
}  // namespace rspd::protocol
