// File: client/asap_session.h
//
// The ASAP library for pool elements and pool users (RFC 5352 §3): one SCTP
// association to a registrar, over usrsctp with UDP encapsulation (RFC 6951),
// so that plain processes need no kernel SCTP and no DPDK.
//
// A PE registers (and re-registers to refresh its lifetime or load),
// deregisters, and has registrar keep-alives answered for it automatically
// (RFC 5352 §3.4 KA2: always ACK; H=1 makes the sender the new home). A PU
// resolves pool handles. Requests wait for their answer up to a timeout (T1,
// T2, T3 of RFC 5352 §7.1).
//
// Example:
//   auto session = AsapSession::Connect({"127.0.0.1", 9899}, absl::Seconds(5));
//   PoolElementSpec pe;  // id, transport, policy...
//   absl::Status s = (*session)->Register("echo", pe);
//   auto pes = (*session)->Resolve("echo", 3);

#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/sctp_association.h"
#include "protocol/codec.h"

namespace rspd::client {

struct RegistrarAddress {
  std::string host = "127.0.0.1";
  uint16_t udp_port = 9899;   // the registrar's encapsulation port
  uint16_t sctp_port = 3863;  // ASAP
};

// Parses "HOST", "HOST:PORT" or "[V6]:PORT" (PORT: the UDP encapsulation port).
absl::StatusOr<RegistrarAddress> ParseRegistrarAddress(const std::string& text);

// A pool element as the library describes it (owned values).
struct PoolElementSpec {
  uint32_t pe_id = 0;
  int32_t registration_life = 30;  // seconds; -1 infinite
  protocol::ParamType transport = protocol::ParamType::kSctpTransport;
  uint16_t port = 0;
  bool control_channel = false;  // SCTP Transport Use DATA PLUS CONTROL
  std::vector<protocol::IpAddress> addresses;
  protocol::Policy policy;
};

// A PE as a handle resolution returns it (owned copy of the wire values).
struct ResolvedElement {
  uint32_t pe_id = 0;
  uint32_t home_registrar = 0;
  int32_t registration_life = 0;
  protocol::ParamType transport = protocol::ParamType::kSctpTransport;
  uint16_t port = 0;
  uint16_t transport_use = 0;
  std::vector<protocol::IpAddress> addresses;
  protocol::Policy policy;
};

struct Resolution {
  uint32_t overall_policy = static_cast<uint32_t>(protocol::PolicyType::kRoundRobin);
  std::vector<ResolvedElement> elements;
};

class AsapSession {
 public:
  // Starts usrsctp (StartSctp) if needed and connects. Fails with
  // Unavailable when no association comes up within `timeout`.
  static absl::StatusOr<std::unique_ptr<AsapSession>> Connect(const RegistrarAddress& registrar,
                                                              absl::Duration timeout);
  ~AsapSession();
  AsapSession(const AsapSession&) = delete;
  AsapSession& operator=(const AsapSession&) = delete;

  // RFC 5352 §3.1: register or re-register (same PE id). A rejection returns
  // FailedPrecondition naming the RFC cause. On success keep-alives for the
  // PE are answered until it is deregistered.
  absl::Status Register(const std::string& pool, const PoolElementSpec& pe,
                        absl::Duration timeout = absl::Seconds(30));
  // RFC 5352 §3.2.
  absl::Status Deregister(const std::string& pool, uint32_t pe_id,
                          absl::Duration timeout = absl::Seconds(30));
  // RFC 5352 §3.3; `items` > 0 asks for that many (RSPLIB's option). NotFound
  // for an unknown pool.
  absl::StatusOr<Resolution> Resolve(const std::string& pool, uint32_t items = 0,
                                     absl::Duration timeout = absl::Seconds(15));
  // RFC 5352 §3.5: tells the registrar that a PE did not answer.
  absl::Status ReportUnreachable(const std::string& pool, uint32_t pe_id);

  bool connected() const { return association_->connected(); }
  // The registrar that last claimed to be home with an H=1 keep-alive (0: none).
  uint32_t home_registrar() const;
  uint64_t keep_alives_answered() const;

 private:
  AsapSession() = default;
  // Answers keep-alives on usrsctp's thread; true if `data` was one.
  bool HandleUnsolicited(absl::Span<const uint8_t> data);
  // Sends `request` and waits for a message of type `reply` matching `pool`.
  absl::StatusOr<std::vector<uint8_t>> Transact(absl::Span<const uint8_t> request,
                                                protocol::AsapType reply, const std::string& pool,
                                                absl::Duration timeout);

  std::unique_ptr<SctpAssociation> association_;
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, uint32_t>> registered_;  // answered keep-alives
  uint32_t home_ = 0;
  uint64_t keep_alives_answered_ = 0;
  std::mutex request_mu_;  // one request in flight
};

}  // namespace rspd::client
