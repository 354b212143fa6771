// libFuzzer target for the text a secure or DPDK registrar's configuration
// is read from, besides the policy file (security_policy_fuzzer): the PSK
// file (dataplane/tls/tls_context.h) and the `--dpdk_addresses` /
// `--dpdk_gateways` items (config.h). Any text parses or is refused with a
// message naming its origin; a parsed PSK file holds only keys within the
// allowed sizes, and a parsed address a prefix its family allows.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "control/config.h"
#include "dataplane/tls/tls_context.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "config_fuzzer: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto keys = rspd::dataplane::tls::ParsePskFile(text, "fuzz");
  if (keys.ok()) {
    for (const auto& [identity, key] : *keys) {
      Check(!identity.empty() && identity.size() <= 128, "identity size");
      Check(key.size() >= 16 && key.size() <= 512, "key size");
    }
  } else {
    Check(keys.status().message().rfind("fuzz:", 0) == 0, "a PSK error without its origin");
  }
  auto address = rspd::control::ParseDpdkAddress(text);
  if (address.ok()) {
    Check(address->prefix_length <= (address->ip.is_v4() ? 32 : 128), "prefix length");
  }
  return 0;
}
