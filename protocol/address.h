// File: protocol/address.h
//
// The one IP address type of rspd, and the one place that writes and reads
// "host:port". An address is 16 bytes; IPv4 is held in the IPv4-mapped IPv6
// form (::ffff:a.b.c.d, RFC 4291 §2.5.5.2), so that the IPv4 and IPv6 Address
// parameters (RFC 5354 §3.1, §3.2) fit one type. The codec writes a mapped
// address as an IPv4 Address parameter and any other as IPv6
// (docs/decisions.md, "Addresses").
//
// Example:
//   std::optional<IpAddress> a = IpAddress::Parse("10.0.0.1");
//   a->is_v4();                       // true; a->v4() == 0x0a000001
//   JoinHostPort(*a, 3863);           // "10.0.0.1:3863"
//   JoinHostPort("2001:db8::1", 80);  // "[2001:db8::1]:80"
//   SplitHostPort("[::1]:9899");      // {host "::1", port "9899"}

#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rspd::protocol {

struct IpAddress {
  std::array<uint8_t, 16> bytes{};

  // `host_order` is the address as a number, e.g. 0x0a000001 for 10.0.0.1.
  static IpAddress V4(uint32_t host_order) {
    IpAddress a;
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    a.bytes[12] = static_cast<uint8_t>(host_order >> 24);
    a.bytes[13] = static_cast<uint8_t>(host_order >> 16);
    a.bytes[14] = static_cast<uint8_t>(host_order >> 8);
    a.bytes[15] = static_cast<uint8_t>(host_order);
    return a;
  }
  // `b`: the 16 bytes of an IPv6 address, network order.
  static IpAddress V6(const uint8_t* b) {
    IpAddress a;
    std::memcpy(a.bytes.data(), b, 16);
    return a;
  }
  // "10.0.0.1" or "2001:db8::42"; nullopt for anything else (no names).
  static std::optional<IpAddress> Parse(absl::string_view text);

  bool is_v4() const {
    static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(bytes.data(), kPrefix, 12) == 0;
  }
  // The IPv4 address as a number; meaningful when is_v4().
  uint32_t v4() const {
    return uint32_t{bytes[12]} << 24 | uint32_t{bytes[13]} << 16 | uint32_t{bytes[14]} << 8 |
           bytes[15];
  }
  // "10.0.0.1" for a mapped address, "2001:db8::42" otherwise.
  std::string ToString() const;

  friend bool operator==(const IpAddress& a, const IpAddress& b) { return a.bytes == b.bytes; }
  friend bool operator!=(const IpAddress& a, const IpAddress& b) { return !(a == b); }
  template <typename H>
  friend H AbslHashValue(H h, const IpAddress& a) {
    return H::combine(std::move(h), a.bytes);
  }
};

// An address (or host) with a port, as people and URIs write it (RFC 3986
// §3.2.2): "10.0.0.1:7600", "[2001:db8::42]:7600". The one place that
// brackets IPv6 literals.
std::string JoinHostPort(absl::string_view host, uint16_t port);
std::string JoinHostPort(const IpAddress& address, uint16_t port);

// The inverse, for the texts rspd's flags take: "HOST", "HOST:PORT",
// "[V6]", "[V6]:PORT", or a bare IPv6 literal (more than one colon, no
// port). `port` is empty when the text has none; neither part is checked
// further. InvalidArgument for an unclosed '[', text after ']' that is not
// ":PORT", or an empty PORT.
struct HostPort {
  std::string host;
  std::string port;
};
absl::StatusOr<HostPort> SplitHostPort(absl::string_view text);

}  // namespace rspd::protocol
