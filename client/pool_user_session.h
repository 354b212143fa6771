// File: client/pool_user_session.h
//
// A pool user's session with a pool (RFC 5351 §4, RFC 5352 §3.3, §3.5, §3.8,
// §3.9): it resolves the pool handle, talks to one PE over SCTP, and when that
// PE fails (no answer in time, or the association dies) it reports the PE as
// unreachable, picks another (the PE's business card order first, RFC 5352
// §3.9 BC2, else the cached or a fresh resolution, §3.3 C1-C4), sends the
// last cookie the old PE gave
// it as the first control message (ASAP_COOKIE_ECHO, §3.8) and resends the
// request: ASAP_SEND_FAILOVER semantics (§6.5.5).
//
// Example:
//   auto registrar = AsapSession::Connect({"127.0.0.1", 9899}, absl::Seconds(5));
//   auto session = PoolUserSession::Open(registrar->get(), "echo", {});
//   auto reply = (*session)->Call(request_bytes);

#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/asap_session.h"
#include "client/resolution_cache.h"
#include "client/sctp_association.h"

namespace rspd::client {

class PoolUserSession {
 public:
  struct Options {
    absl::Duration reply_timeout = absl::Seconds(1);
    uint32_t items = 3;                                   // PEs asked for per resolution
    int max_failovers = 16;                               // per call
    absl::Duration stale_cache_value = absl::Seconds(1);  // RFC 5352 §3.3 C2
    uint32_t data_ppid = 0;  // data never uses PPID 11 (RFC 5352 §3.8)
    // Told about each failover ("failover: ...").
    std::function<void(const std::string&)> log;
  };

  static absl::StatusOr<std::unique_ptr<PoolUserSession>> Open(AsapSession* registrar,
                                                               const std::string& pool,
                                                               Options options);

  ~PoolUserSession() { association_.reset(); }  // stops callbacks before members go

  // Sends `request` to the current PE and returns its reply, failing over as
  // often as needed (up to max_failovers).
  absl::StatusOr<std::vector<uint8_t>> Call(absl::Span<const uint8_t> request);

  uint32_t pe_id() const { return pe_id_; }
  int failovers() const { return failovers_; }
  std::vector<uint8_t> cookie() const;

 private:
  PoolUserSession() = default;
  // Connects to the best PE not known to have failed.
  absl::Status ConnectToNext();
  bool HandleControl(absl::Span<const uint8_t> data);  // on usrsctp's thread

  AsapSession* registrar_ = nullptr;
  std::string pool_;
  Options options_;
  std::unique_ptr<SctpAssociation> association_;
  uint32_t pe_id_ = 0;
  bool chosen_from_card_ = false;  // the current PE came from a business card
  int failovers_ = 0;
  std::set<uint32_t> failed_;
  ResolutionCache cache_;
  mutable std::mutex mu_;
  std::vector<uint8_t> cookie_;                       // latest ASAP_COOKIE (RFC 5352 §3.8)
  std::vector<protocol::PoolElement> business_card_;  // latest ASAP_BUSINESS_CARD (§3.9)
};

}  // namespace rspd::client
