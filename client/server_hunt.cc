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
  return FormatRegistrarAddress(r);
}

namespace {

const char* AttemptName(AsapSession::Attempt attempt) {
  switch (attempt) {
    case AsapSession::Attempt::kHome:
      return "home";
    case AsapSession::Attempt::kAborted:
      return "aborted";
    case AsapSession::Attempt::kFailed:
      return "failed";
    case AsapSession::Attempt::kNotTried:
      break;
  }
  return "not tried";
}

}  // namespace

std::string ServerHunt::LastRoundText() const {
  std::string out;
  for (size_t i = 0; i < last_round_.size() && i < registrars_.size(); ++i) {
    if (last_round_[i] == AsapSession::Attempt::kNotTried) continue;
    const RegistrarAddress& r = registrars_[i].address;
    absl::StrAppend(&out, out.empty() ? "" : ", ", FormatRegistrarAddress(r), " ",
                    AttemptName(last_round_[i]));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<AsapSession>> ServerHunt::Hunt(absl::Time now,
                                                              const std::atomic<bool>* cancel) {
  // RFC 5352 §3.6: an announced address whose T7 ran out is removed.
  registrars_.erase(std::remove_if(registrars_.begin(), registrars_.end(),
                                   [&](const Known& k) {
                                     return k.heard != absl::InfiniteFuture() &&
                                            now - k.heard > options_.t7;
                                   }),
                    registrars_.end());
  last_round_.assign(registrars_.size(), AsapSession::Attempt::kNotTried);
  if (registrars_.empty()) return absl::UnavailableError("no registrar known");
  // SH5.3: a new round starts after the registrars the last one tried.
  const size_t first = next_ % registrars_.size();
  std::vector<RegistrarAddress> order;
  for (size_t i = 0; i < registrars_.size(); ++i) {
    order.push_back(registrars_[(first + i) % registrars_.size()].address);
  }
  std::vector<AsapSession::Attempt> attempts;
  auto session = AsapSession::Connect(order, t5_, &attempts, cancel);
  size_t tried = 0;
  for (size_t i = 0; i < attempts.size(); ++i) {
    const size_t index = (first + i) % registrars_.size();
    last_round_[index] = attempts[i];
    if (attempts[i] != AsapSession::Attempt::kNotTried) tried = i + 1;
    if (attempts[i] == AsapSession::Attempt::kHome) current_ = index;
  }
  if (session.ok()) {
    t5_ = options_.t5;  // SH3
    next_ = current_ + 1;
    return session;
  }
  next_ = first + tried;
  t5_ = std::min(t5_ * 2, options_.retran_max);  // SH5.1
  return absl::UnavailableError(absl::StrCat("server hunt: ", session.status().message()));
}

absl::StatusOr<std::vector<RegistrarAddress>> ParseRegistrarList(const std::string& text) {
  std::vector<RegistrarAddress> out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    if (part.empty() && text.empty()) break;  // no registrar: reported below
    if (part.empty()) return absl::InvalidArgumentError("an empty registrar in the list");
    auto r = ParseRegistrarAddress(std::string(part));
    if (!r.ok()) return r.status();
    out.push_back(*r);
  }
  if (out.empty()) return absl::InvalidArgumentError("no registrar given");
  return out;
}

}  // namespace rspd::client
