#include "client/server_hunt.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rspd::client {

ServerHunt::ServerHunt(std::vector<RegistrarAddress> registrars, Options options)
    : registrars_(std::move(registrars)), options_(options), t5_(options.t5) {}

void ServerHunt::Add(const RegistrarAddress& r) {
  for (const RegistrarAddress& known : registrars_) {
    if (known.host == r.host && known.udp_port == r.udp_port && known.sctp_port == r.sctp_port) {
      return;
    }
  }
  registrars_.push_back(r);
}

std::string ServerHunt::current() const {
  if (registrars_.empty()) return "";
  const RegistrarAddress& r = registrars_[current_ % registrars_.size()];
  return absl::StrCat(r.host, ":", r.udp_port);
}

absl::StatusOr<std::unique_ptr<AsapSession>> ServerHunt::Hunt() {
  if (registrars_.empty()) return absl::UnavailableError("no registrar known");
  std::string failures;
  for (size_t tried = 0; tried < registrars_.size(); ++tried) {
    const size_t index = next_ % registrars_.size();
    next_ = index + 1;
    auto session = AsapSession::Connect(registrars_[index], t5_);
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
