#include "client/asap_session.h"
#include "gtest/gtest.h"

namespace rspd::client {
namespace {

TEST(RegistrarAddressTest, ParsesHostsAndPorts) {
  auto a = ParseRegistrarAddress("127.0.0.1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->udp_port, 9899);  // RFC 6951 default
  a = ParseRegistrarAddress("127.0.0.1:40000");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->udp_port, 40000);
  a = ParseRegistrarAddress("[::1]:40001");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->udp_port, 40001);
  a = ParseRegistrarAddress("::1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->sctp_port, 3863);  // RFC 5352 §8.2 default
  // Registrars sharing an address differ in their ASAP port.
  a = ParseRegistrarAddress("127.0.0.1:40000/3864");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->udp_port, 40000);
  EXPECT_EQ(a->sctp_port, 3864);
  a = ParseRegistrarAddress("[::1]/3865");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->udp_port, 9899);
  EXPECT_EQ(a->sctp_port, 3865);
}

TEST(RegistrarAddressTest, PortZeroIsNativeSctp) {
  auto a = ParseRegistrarAddress("10.0.0.1:0");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->udp_port, 0);
  EXPECT_EQ(FormatRegistrarAddress(*a), "10.0.0.1:0");
}

TEST(RegistrarAddressTest, FormatsWhatItParses) {
  for (const std::string text : {"127.0.0.1:40000", "[::1]:40001", "127.0.0.1:40000/3864"}) {
    auto a = ParseRegistrarAddress(text);
    ASSERT_TRUE(a.ok()) << text;
    EXPECT_EQ(FormatRegistrarAddress(*a), text);
  }
}

TEST(RegistrarAddressTest, RejectsBadInputWithAClearMessage) {
  EXPECT_EQ(ParseRegistrarAddress("registrar.example").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRegistrarAddress("127.0.0.1:99999").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRegistrarAddress("[::1").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRegistrarAddress("127.0.0.1:40000/0").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRegistrarAddress("127.0.0.1:40000/x").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rspd::client
