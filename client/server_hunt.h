// File: client/server_hunt.h
//
// RFC 5352 §3.6 server hunt: find a registrar to be the home PR among a list
// (static configuration, and registrars learned from SERVER_ANNOUNCEs). A
// round (AsapSession::Connect) starts from the registrar after the last home,
// or after the last one tried: SH1 tries three at once, SH4 replaces each
// that fails by the next; SH2/SH5 the round lasts one T5, and a round in which
// none answered doubles T5 up to RETRAN-MAX; SH3 success resets T5; SH6 the
// first registrar that answers becomes home, the others are aborted.
//
// Example:
//   ServerHunt hunt({a, b}, {});
//   auto session = hunt.Hunt();          // Unavailable after a failed round
//   if (!session.ok()) sleep(hunt.t5());

#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/asap_session.h"

namespace rspd::client {

class ServerHunt {
 public:
  struct Options {
    absl::Duration t5 = absl::Seconds(10);          // T5-Serverhunt (RFC 5352 §7.1)
    absl::Duration retran_max = absl::Seconds(60);  // RETRAN-MAX (RFC 5352 §7.2)
    absl::Duration t7 = absl::Seconds(5);           // T7-ENRPoutdate (RFC 5352 §7.1)
  };

  ServerHunt(std::vector<RegistrarAddress> registrars, Options options);

  // A registrar heard in an announce at `now` (RFC 5352 §3.6): added, or its
  // T7 restarted. Unlike the configured ones, it is dropped when T7 expires.
  void Heard(const RegistrarAddress& registrar, absl::Time now);
  // One round over the registrars known at `now`; the first association
  // that comes up.
  // Setting `*cancel` (optional) ends the round early.
  absl::StatusOr<std::unique_ptr<AsapSession>> Hunt(absl::Time now = absl::Now(),
                                                    const std::atomic<bool>* cancel = nullptr);
  size_t known() const { return registrars_.size(); }
  // How each known registrar fared in the last round, in the order of the
  // list (configured ones, then announced ones as first heard).
  const std::vector<AsapSession::Attempt>& last_round() const { return last_round_; }
  // The registrars tried in the last round with their outcome, for logs:
  // "127.0.0.1:9900 aborted, 127.0.0.1:9901 home".
  std::string LastRoundText() const;

  // The current T5 (doubled after each failed round).
  absl::Duration t5() const { return t5_; }
  // The registrar of the last successful hunt, as "HOST:PORT".
  std::string current() const;

 private:
  struct Known {
    RegistrarAddress address;
    absl::Time heard = absl::InfiniteFuture();  // configured: never outdated
  };
  std::vector<Known> registrars_;
  Options options_;
  absl::Duration t5_;
  size_t next_ = 0;
  size_t current_ = 0;
  std::vector<AsapSession::Attempt> last_round_;
};

// Parses a comma-separated list of HOST[:PORT] registrars.
absl::StatusOr<std::vector<RegistrarAddress>> ParseRegistrarList(const std::string& text);

}  // namespace rspd::client
