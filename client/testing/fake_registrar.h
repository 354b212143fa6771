// File: client/testing/fake_registrar.h
//
// A registrar for client tests, in the test's own process on the library's
// usrsctp stack. It accepts associations from PEs, accepts every registration
// and deregistration (RFC 5352 §3.1, §3.2), and records the association each
// ASAP message came on. It can also play a registrar that took over PEs
// (RFC 5353 §3.5.2): start an association to a PE's ASAP transport address
// and send ENDPOINT_KEEP_ALIVE with H=1 (RFC 5352 §2.2.7). And it can tell a
// PE that it removed one of its registrations: an ASAP_DEREGISTRATION_RESPONSE
// nobody asked for (RFC 5352 §2.2.4), at once or just before its next answer.
//
// Example:
//   auto registrar = FakeRegistrar::Start();
//   auto session = AsapSession::Connect((*registrar)->address(), absl::Seconds(5));
//   auto assoc = (*registrar)->Await(protocol::AsapType::kRegistration, absl::Seconds(5));

#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/asap_session.h"
#include "client/sctp_association.h"
#include "protocol/codec.h"

namespace rspd::client::testing {

class FakeRegistrar {
 public:
  // Listens on a free SCTP port (StartSctp first).
  static absl::StatusOr<std::unique_ptr<FakeRegistrar>> Start();

  // Where PEs reach it: 127.0.0.1 over this process's UDP port.
  RegistrarAddress address() const;
  // Starts an association to a PE's ASAP endpoint on 127.0.0.1 (SCTP port
  // `sctp_port`, its stack on UDP port `udp_port`) and waits until it is up.
  absl::StatusOr<uint32_t> ConnectTo(uint16_t sctp_port, uint16_t udp_port, absl::Duration timeout);
  // ENDPOINT_KEEP_ALIVE for `pool` and `pe_id` (none: every PE of the
  // pool); `home` sets the H flag.
  absl::Status SendKeepAlive(uint32_t assoc, const std::string& pool, std::optional<uint32_t> pe_id,
                             bool home, uint32_t server_id);
  // An unsolicited ASAP_DEREGISTRATION_RESPONSE for `pool` and `pe_id`: the
  // registrar removed that PE on its own.
  absl::Status SendRemovalNotice(uint32_t assoc, const std::string& pool, uint32_t pe_id);
  // Sends that notice right before the next answer (registration or
  // deregistration), on its association: it then arrives while the PE's
  // request is in flight.
  void SendRemovalNoticeBeforeNextAnswer(const std::string& pool, uint32_t pe_id) {
    std::lock_guard<std::mutex> lock(mu_);
    notice_before_answer_ = {pool, pe_id};
  }
  // Answers the next `count` registrations with Lack of Resources (RFC 5354
  // cause 0x6), as a busy registrar does.
  void AnswerBusy(int count) {
    std::lock_guard<std::mutex> lock(mu_);
    busy_registrations_ = count;
  }
  // Rejects every registration of `pe_id` (RFC 5352 §3.1 rule 2:
  // Inconsistent Pooling Policy).
  void RejectRegistrationsOf(uint32_t pe_id) {
    std::lock_guard<std::mutex> lock(mu_);
    rejected_pe_id_ = pe_id;
  }
  // Leaves the next `count` registrations unanswered, as a registrar that
  // hangs does.
  void IgnoreRegistrations(int count) {
    std::lock_guard<std::mutex> lock(mu_);
    ignored_registrations_ = count;
  }
  struct Received {
    uint32_t assoc = 0;
    uint32_t pe_id = 0;        // of a registration, deregistration or keep-alive ACK
    uint16_t remote_port = 0;  // the sender's SCTP port: its ASAP endpoint's (RFC 5352 §3.1 rule 4)
  };
  // The oldest message of `type` not awaited yet; waits up to `timeout` for
  // one.
  absl::StatusOr<Received> AwaitMessage(protocol::AsapType type, absl::Duration timeout);
  // Its association only.
  absl::StatusOr<uint32_t> Await(protocol::AsapType type, absl::Duration timeout);
  // How many messages of `type` arrived and were not awaited yet.
  size_t Count(protocol::AsapType type);

 private:
  FakeRegistrar() = default;
  void OnMessage(uint32_t assoc, uint32_t ppid, absl::Span<const uint8_t> data);

  std::mutex mu_;
  std::condition_variable cv_;
  std::set<uint32_t> up_;
  int busy_registrations_ = 0;
  int ignored_registrations_ = 0;
  std::optional<uint32_t> rejected_pe_id_;
  std::optional<std::pair<std::string, uint32_t>> notice_before_answer_;  // (pool, PE id)
  std::vector<std::pair<uint8_t, Received>> received_;  // (type, message), not awaited yet
  // Last: closed first, so that no callback runs on a half-destroyed fake.
  std::unique_ptr<SctpServer> server_;
};

}  // namespace rspd::client::testing
