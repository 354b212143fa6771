// File: control/security_policy.cc

#include "control/security_policy.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rspd::control {

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  // Iterative, with one backtrack point: the last '*' seen (linear in
  // practice, never exponential).
  size_t p = 0, t = 0;
  size_t star = absl::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

SecurityPolicy SecurityPolicy::AllowAuthenticated() {
  SecurityPolicy policy;
  policy.open_ = true;
  policy.description_ = "every authenticated identity may register, peer, take over and report";
  return policy;
}

absl::StatusOr<SecurityPolicy> SecurityPolicy::Parse(absl::string_view text,
                                                     absl::string_view origin) {
  SecurityPolicy policy;
  int line_number = 0;
  size_t rules = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = line.substr(0, line.find('#'));
    std::vector<std::string> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.empty()) continue;
    const auto error = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ":", line_number, ": ", why));
    };
    const std::string kind = words[0];
    words.erase(words.begin());
    if (kind == "register") {
      if (words.size() < 2) return error("expected \"register POOL-PATTERN IDENTITY-PATTERN...\"");
      RegisterRule rule;
      rule.pool = words[0];
      rule.identities.assign(words.begin() + 1, words.end());
      policy.register_.push_back(std::move(rule));
    } else if (std::vector<std::string>* list = policy.IdentityRule(kind)) {
      if (words.empty()) return error(absl::StrCat("expected \"", kind, " IDENTITY-PATTERN...\""));
      list->insert(list->end(), words.begin(), words.end());
    } else {
      return error(absl::StrCat("unknown rule \"", kind,
                                "\"; allowed: register, peer, takeover, report, monitor"));
    }
    ++rules;
  }
  policy.description_ = absl::StrCat(rules, " rules from ", origin);
  return policy;
}

absl::StatusOr<SecurityPolicy> SecurityPolicy::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("policy file ", path, ": cannot be read"));
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

std::vector<std::string>* SecurityPolicy::IdentityRule(absl::string_view kind) {
  if (kind == "peer") return &peer_;
  if (kind == "takeover") return &takeover_;
  if (kind == "report") return &report_;
  if (kind == "monitor") return &monitor_;
  return nullptr;
}

bool SecurityPolicy::AnyMatch(const std::vector<std::string>& patterns,
                              absl::string_view identity) {
  for (const std::string& pattern : patterns) {
    if (GlobMatch(pattern, identity)) return true;
  }
  return false;
}

bool SecurityPolicy::MayRegister(absl::string_view identity, absl::string_view pool_handle) const {
  if (identity.empty()) return false;
  if (open_) return true;
  for (const RegisterRule& rule : register_) {
    if (GlobMatch(rule.pool, pool_handle) && AnyMatch(rule.identities, identity)) return true;
  }
  return false;
}

bool SecurityPolicy::MayPeer(absl::string_view identity) const {
  return !identity.empty() && (open_ || AnyMatch(peer_, identity));
}

bool SecurityPolicy::MayTakeOver(absl::string_view identity) const {
  return !identity.empty() && (open_ || AnyMatch(takeover_, identity));
}

bool SecurityPolicy::MayReport(absl::string_view identity) const {
  return !identity.empty() && (open_ || AnyMatch(report_, identity));
}

bool SecurityPolicy::MayMonitor(absl::string_view identity) const {
  return !identity.empty() && (open_ || AnyMatch(monitor_, identity));
}

}  // namespace rspd::control
