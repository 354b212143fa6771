// File: control/security_policy.h
//
// Who may do what at a secure registrar (RFC 5355 §2.1-§2.4, §2.6, §2.13;
// docs/security.md): the identities a TLS peer proved (a certificate's name
// or a PSK identity, dataplane/transport.h) matched against the rules of a
// small policy file. Unauthenticated peers (PUs without a certificate) may
// only resolve, whatever the policy says.
//
// The file has one rule per line; '#' starts a comment; patterns are globs
// ('*' any run of bytes, '?' one byte), matched against the whole name:
//
//   register POOL-PATTERN IDENTITY-PATTERN...  # may register PEs in these pools
//   peer IDENTITY-PATTERN...                    # registrars that may peer (ENRP)
//   takeover IDENTITY-PATTERN...                # registrars that may take our PEs over
//   report IDENTITY-PATTERN...                  # may send ENDPOINT_UNREACHABLE
//   monitor IDENTITY-PATTERN...                 # operators' tools (rspctl dump, peers)
//
// A request is allowed when some rule of its kind matches. Without a policy
// file every authenticated identity may do everything: "having a PSK
// constitutes authorization" (RFC 5352 §9.2, RFC 5353 §6.2).
//
// Example:
//   auto policy = SecurityPolicy::Load("/etc/rspd/policy");
//   if (!policy->MayRegister(identity, pool_handle)) reject with cause 0xa;

#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rspd::control {

// Whether glob `pattern` ('*', '?') matches all of `text`; any bytes.
bool GlobMatch(absl::string_view pattern, absl::string_view text);

class SecurityPolicy {
 public:
  // Every authenticated identity may do everything.
  static SecurityPolicy AllowAuthenticated();
  // Parses a policy file's text; errors name `origin`, the line and what is
  // wrong.
  static absl::StatusOr<SecurityPolicy> Parse(absl::string_view text, absl::string_view origin);
  static absl::StatusOr<SecurityPolicy> Load(const std::string& path);

  bool MayRegister(absl::string_view identity, absl::string_view pool_handle) const;
  bool MayPeer(absl::string_view identity) const;
  bool MayTakeOver(absl::string_view identity) const;
  bool MayReport(absl::string_view identity) const;
  // An operator's tool: ENRP requests with Sending Server ID 0, which read
  // the handlespace and the peer list (docs/decisions.md).
  bool MayMonitor(absl::string_view identity) const;
  // "allow authenticated", or "N rules from FILE".
  const std::string& description() const { return description_; }

 private:
  struct RegisterRule {
    std::string pool;
    std::vector<std::string> identities;
  };
  static bool AnyMatch(const std::vector<std::string>& patterns, absl::string_view identity);
  // The identity list of a rule kind other than "register"; null if none.
  std::vector<std::string>* IdentityRule(absl::string_view kind);

  bool open_ = false;  // AllowAuthenticated
  std::vector<RegisterRule> register_;
  std::vector<std::string> peer_;
  std::vector<std::string> takeover_;
  std::vector<std::string> report_;
  std::vector<std::string> monitor_;
  std::string description_;
};

}  // namespace rspd::control
