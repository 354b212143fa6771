#include "client/server_hunt.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rspd::client {

ServerHunt::ServerHunt(std::vector<RegistrarAddress> registrars, Options options)
    : options_(options), t5_(options.t5) {
  for (const RegistrarAddress& r : registrars) registrars_.push_back({r});
}

void ServerHunt::Heard(const RegistrarAddress& r, absl::Time now) {
  for (Known& known : registrars_) {
    const RegistrarAddress& k = known.address;
    if (k.host == r.host && k.udp_port == r.udp_port && k.sctp_port == r.sctp_port) {
      if (known.heard != absl::InfiniteFuture()) known.heard = now;  // restart T7
      return;
    }
  }
  registrars_.push_back({r, now});
}

std::string ServerHunt::current() const {
  if (registrars_.empty()) return "";
  const RegistrarAddress& r = registrars_[current_ % registrars_.size()].address;
  return absl::StrCat(r.host, ":", r.udp_port);
}

absl::StatusOr<std::unique_ptr<AsapSession>> ServerHunt::Hunt(absl::Time now) {
  // RFC 5352 §3.6: an announced address whose T7 ran out is removed.
  registrars_.erase(std::remove_if(registrars_.begin(), registrars_.end(),
                                   [&](const Known& k) {
                                     return k.heard != absl::InfiniteFuture() &&
                                            now - k.heard > options_.t7;
                                   }),
                    registrars_.end());
  if (registrars_.empty()) return absl::UnavailableError("no registrar known");
  std::string failures;
  for (size_t tried = 0; tried < registrars_.size(); ++tried) {
    const size_t index = next_ % registrars_.size();
    next_ = index + 1;
    auto session = AsapSession::Connect(registrars_[index].address, t5_);
    if (session.ok()) {
      t5_ = options_.t5;  // SH3
      current_ = index;
      return session;
    }
    absl::StrAppend(&failures, failures.empty() ? "" : "; ", session.status().message());
  }
  t5_ = std::min(t5_ * 2, options_.retran_max);  // SH5
  return absl::UnavailableError(absl::StrCat("server hunt: ", failures));
}

absl::StatusOr<std::vector<RegistrarAddress>> ParseRegistrarList(const std::string& text) {
  std::vector<RegistrarAddress> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    auto r = ParseRegistrarAddress(std::string(part));
    if (!r.ok()) return r.status();
    out.push_back(*r);
  }
  if (out.empty()) return absl::InvalidArgumentError("no registrar given");
  return out;
}

}  // namespace rspd::client
