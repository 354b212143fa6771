// File: control/asap/session_table.h
//
// What the registrar knows about the PEs it is home of, beyond the
// handlespace (RFC 5352 §3.1 rule 4: the home registrar keeps them alive):
// a Session per PE, keyed by pool handle and PE identifier (RFC 5354 §3.9:
// unique in its pool), with the association the PE registered on, its
// keep-alive state and the unreachable reports against it; and per
// association, the list of its PEs and its rate limits. Sessions live in
// slots (stable uint32_t indices, reused) so that timers and lists refer to
// them without pointers. Lookups take a string_view: no key is built.
//
// Example:
//   SessionTable table;
//   uint32_t slot = table.Add("echo", 0x1234);
//   table.Link(slot, assoc);
//   if (table.Find("echo", 0x1234) == slot) ...

#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "dataplane/token_bucket.h"
#include "dataplane/transport.h"
#include "handlespace/types.h"
#include "protocol/address.h"

namespace rspd::control {

using dataplane::AssocRef;
using Tick = handlespace::Tick;  // milliseconds

struct RegistrationJob;  // asap_jobs.h

inline constexpr uint32_t kNoSession = 0xffffffffu;

// One unreachable report (RFC 5352 §3.5) against a PE.
struct UnreachableReport {
  protocol::IpAddress reporter;
  Tick at = 0;
};

struct Session {
  std::string handle;
  uint32_t pe_id = 0;
  bool in_use = false;
  AssocRef assoc;                           // the association it registered on
  bool removing = false;                    // a removal is in flight
  bool removal_by_pe = false;               // ... asked for by the PE (deregistration)
  Tick ack_deadline = handlespace::kNever;  // set while a keep-alive is unanswered
  Tick keep_alive_sent = 0;                 // when that keep-alive went out
  // Distinct reporters within the report window, at most MAX-BAD-PE-REPORT.
  std::vector<UnreachableReport> reports;
  // A registration of this PE from another association, waiting for the
  // holder to show it is alive (then Non-unique PE Identifier) or not.
  RegistrationJob* contender = nullptr;
  Tick contest_deadline = 0;
  // The association's list of sessions (AssocState::first_session).
  uint32_t prev_in_assoc = kNoSession;
  uint32_t next_in_assoc = kNoSession;
  bool linked = false;
};

// Per association: its PEs and its rate limits. Made by its first message,
// dropped when it goes down.
struct AssocState {
  uint32_t first_session = kNoSession;
  uint32_t pes = 0;
  uint32_t pending_new = 0;  // registrations of new PEs in flight
  dataplane::TokenBucket resolutions;
  dataplane::TokenBucket registrations;
};

class SessionTable {
 public:
  uint32_t Find(absl::string_view handle, uint32_t pe_id) const;
  // A new session (the PE must not have one).
  uint32_t Add(absl::string_view handle, uint32_t pe_id);
  void Erase(uint32_t slot);
  Session& operator[](uint32_t slot) { return sessions_[slot]; }
  const Session& operator[](uint32_t slot) const { return sessions_[slot]; }
  // Slots in use or free: every slot is below this.
  size_t slot_count() const { return sessions_.size(); }
  size_t size() const { return index_.size(); }

  // The association's state, made on first use.
  AssocState& StateOf(const AssocRef& assoc) { return assocs_[assoc]; }
  // Null if the association is not known (never spoke, or went down).
  AssocState* FindState(const AssocRef& assoc);
  bool Known(const AssocRef& assoc) const { return assocs_.contains(assoc); }
  // Forgets a gone association; its sessions must be unlinked first.
  void EraseState(const AssocRef& assoc) { assocs_.erase(assoc); }

  // Puts the session on its association's list (and takes it off another's).
  void Link(uint32_t slot, const AssocRef& assoc);
  void Unlink(uint32_t slot);
  // Whether PEs are registered over an association of transport peer `peer`.
  bool HoldsPes(const void* peer) const { return pes_by_peer_.contains(peer); }

 private:
  struct KeyView {
    absl::string_view handle;
    uint32_t pe_id = 0;
    friend bool operator==(const KeyView& a, const KeyView& b) {
      return a.pe_id == b.pe_id && a.handle == b.handle;
    }
    template <typename H>
    friend H AbslHashValue(H h, const KeyView& k) {
      return H::combine(std::move(h), k.handle, k.pe_id);
    }
  };

  // A deque: growing it never moves a session, so the index's keys can view
  // the sessions' own handle strings (a session's string is not touched
  // while it is in the index).
  std::deque<Session> sessions_;
  std::vector<uint32_t> free_;
  absl::flat_hash_map<KeyView, uint32_t> index_;
  absl::flat_hash_map<AssocRef, AssocState> assocs_;
  absl::flat_hash_map<const void*, uint32_t> pes_by_peer_;  // sessions per transport peer
};

}  // namespace rspd::control
