#include "client/pool_user_session.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "protocol/address.h"
#include "protocol/pool_element_codec.h"

namespace rspd::client {
namespace {

using protocol::AsapType;
using protocol::Message;

}  // namespace

absl::StatusOr<std::unique_ptr<PoolUserSession>> PoolUserSession::Open(AsapSession* registrar,
                                                                       const std::string& pool,
                                                                       Options options) {
  std::unique_ptr<PoolUserSession> session(new PoolUserSession());
  session->registrar_ = registrar;
  session->pool_ = pool;
  session->cache_ = ResolutionCache(options.stale_cache_value);
  session->options_ = std::move(options);
  if (absl::Status s = session->ConnectToNext(); !s.ok()) return s;
  return session;
}

std::vector<uint8_t> PoolUserSession::cookie() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cookie_;
}

bool PoolUserSession::HandleControl(absl::Span<const uint8_t> data) {
  Message m;
  protocol::DecodeError error;
  if (!protocol::DecodeMessage(protocol::Protocol::kAsap, data, &m, &error)) return true;
  std::lock_guard<std::mutex> lock(mu_);
  if (m.type == static_cast<uint8_t>(AsapType::kCookie)) {
    // RFC 5352 §3.8: keep only the latest cookie.
    cookie_.assign(m.cookie.begin(), m.cookie.end());
  } else if (m.type == static_cast<uint8_t>(AsapType::kBusinessCard)) {
    // RFC 5352 §3.9 BC2: the PE's preferred failover order.
    if (options_.log) {
      options_.log(absl::StrFormat("business card from pe_id=0x%08x: %d PEs", pe_id_,
                                   static_cast<int>(m.pool_elements.size())));
    }
    business_card_ = protocol::OwnedElements(m.pool_elements);
  }
  return true;
}

absl::Status PoolUserSession::ConnectToNext() {
  std::vector<protocol::PoolElement> candidates;
  {
    std::lock_guard<std::mutex> lock(mu_);
    candidates = business_card_;
  }
  const size_t from_card = candidates.size();
  // RFC 5352 §3.3: a fresh cache entry answers (C4); else resolve (C1, C2).
  const absl::Time now = absl::Now();
  const Resolution* cached = cache_.Find(pool_, now);
  if (cached == nullptr) {
    absl::StatusOr<Resolution> resolution = registrar_->Resolve(pool_, options_.items);
    if (resolution.ok()) {
      cache_.Store(pool_, std::move(*resolution), now);
      cached = cache_.Find(pool_, now);
    } else if (candidates.empty()) {
      return resolution.status();
    }
  }
  if (cached != nullptr) {
    candidates.insert(candidates.end(), cached->elements.begin(), cached->elements.end());
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    const protocol::PoolElement& pe = candidates[i];
    if (failed_.count(pe.id) || pe.user.addresses.empty() ||
        pe.user.type != protocol::ParamType::kSctpTransport) {
      continue;
    }
    // The PE's SCTP port doubles as its UDP encapsulation port (this
    // library's rule, sctp_association.h).
    auto association = SctpAssociation::Connect(
        pe.user.addresses.items[0].ToString(), pe.user.port, pe.user.port, absl::Seconds(2),
        [this](uint32_t ppid, absl::Span<const uint8_t> data) {
          return ppid == protocol::kAsapPpid && HandleControl(data);
        });
    if (!association.ok()) {
      failed_.insert(pe.id);
      cache_.Purge(pool_, pe.id);
      (void)registrar_->ReportUnreachable(pool_, pe.id);
      continue;
    }
    association_ = std::move(*association);
    pe_id_ = pe.id;
    chosen_from_card_ = i < from_card;
    // RFC 5352 §3.8: the old PE's cookie, unmodified, as the first control
    // message to the new PE.
    std::vector<uint8_t> cookie = this->cookie();
    if (!cookie.empty()) {
      Message echo;
      echo.type = static_cast<uint8_t>(AsapType::kCookieEcho);
      echo.has_cookie = true;
      echo.cookie = cookie;
      (void)association_->Send(protocol::kAsapPpid, protocol::EncodeMessageToVector(echo));
    }
    return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat("no reachable PE in pool '", pool_, "'"));
}

absl::StatusOr<std::vector<uint8_t>> PoolUserSession::Call(absl::Span<const uint8_t> request) {
  for (int attempt = 0; attempt <= options_.max_failovers; ++attempt) {
    absl::Status status = association_->Send(options_.data_ppid, request);
    if (status.ok()) {
      absl::StatusOr<SctpAssociation::Received> reply =
          association_->Receive(options_.reply_timeout);
      if (reply.ok()) return std::move(reply->data);
      status = reply.status();
    }
    // RFC 5352 §3.5: report the failed PE once, then fail over (§6.5.5).
    const uint32_t failed = pe_id_;
    failed_.insert(failed);
    cache_.Purge(pool_, failed);
    (void)registrar_->ReportUnreachable(pool_, failed);
    if (absl::Status s = ConnectToNext(); !s.ok()) return s;
    ++failovers_;
    if (options_.log) {
      options_.log(absl::StrFormat(
          "failover: pe_id=0x%08x (%s) -> pe_id=0x%08x (%s), cookie %s", failed, status.message(),
          pe_id_, chosen_from_card_ ? "from its business card" : "resolved",
          cookie().empty() ? "none" : absl::StrCat("echoed (", cookie().size(), " bytes)")));
    }
  }
  return absl::UnavailableError("too many failovers");
}

}  // namespace rspd::client
