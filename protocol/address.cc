#include "protocol/address.h"

#include <arpa/inet.h>

#include "absl/strings/str_cat.h"

namespace rspd::protocol {

std::optional<IpAddress> IpAddress::Parse(absl::string_view text) {
  const std::string s(text);
  uint8_t bytes[16];
  if (inet_pton(AF_INET, s.c_str(), bytes) == 1) {
    return V4(uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 | uint32_t{bytes[2]} << 8 |
              bytes[3]);
  }
  if (inet_pton(AF_INET6, s.c_str(), bytes) == 1) {
    return V6(bytes);
  }
  return std::nullopt;
}

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    inet_ntop(AF_INET, bytes.data() + 12, text, sizeof(text));
  } else {
    inet_ntop(AF_INET6, bytes.data(), text, sizeof(text));
  }
  return text;
}

std::string JoinHostPort(absl::string_view host, uint16_t port) {
  // A colon in the host can only be an IPv6 literal's.
  if (host.find(':') != absl::string_view::npos) {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

std::string JoinHostPort(const IpAddress& address, uint16_t port) {
  return JoinHostPort(address.ToString(), port);
}

absl::StatusOr<HostPort> SplitHostPort(absl::string_view text) {
  HostPort out;
  out.host = std::string(text);
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("unclosed '['");
    }
    out.host = std::string(text.substr(1, close - 1));
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') {
        return absl::InvalidArgumentError("expected ':' after ']'");
      }
      out.port = std::string(text.substr(close + 2));
      if (out.port.empty()) {
        return absl::InvalidArgumentError("empty port after ']:'");
      }
    }
    return out;
  }
  const size_t colon = text.find(':');
  // One colon: HOST:PORT. More: a bare IPv6 literal.
  if (colon != absl::string_view::npos && text.find(':', colon + 1) == absl::string_view::npos) {
    out.host = std::string(text.substr(0, colon));
    out.port = std::string(text.substr(colon + 1));
    if (out.port.empty()) {
      return absl::InvalidArgumentError("empty port after ':'");
    }
  }
  return out;
}

}  // namespace rspd::protocol
