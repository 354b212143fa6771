// libFuzzer target for the authorization policy file (security_policy.h):
// any text parses or is refused with a message, and whatever parses answers
// every question without crashing; glob matching of arbitrary patterns and
// names stays bounded (the input's first line is matched against the rest).

#include <cstdint>
#include <string>

#include "control/security_policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto policy = rspd::control::SecurityPolicy::Parse(text, "fuzz");
  if (policy.ok()) {
    for (const char* identity : {"", "pe-1", "pr1.example", "*"}) {
      (void)policy->MayRegister(identity, "echo");
      (void)policy->MayPeer(identity);
      (void)policy->MayTakeOver(identity);
      (void)policy->MayReport(identity);
    }
  }
  const size_t newline = text.find('\n');
  if (newline != std::string::npos) {
    (void)rspd::control::GlobMatch(absl::string_view(text).substr(0, newline),
                                   absl::string_view(text).substr(newline + 1));
  }
  return 0;
}
