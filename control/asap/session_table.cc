// File: control/asap/session_table.cc

#include "control/asap/session_table.h"

namespace rspd::control {

uint32_t SessionTable::Find(absl::string_view handle, uint32_t pe_id) const {
  auto it = index_.find(KeyView{handle, pe_id});
  return it == index_.end() ? kNoSession : it->second;
}

uint32_t SessionTable::Add(absl::string_view handle, uint32_t pe_id) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(sessions_.size());
    sessions_.emplace_back();
  }
  Session& session = sessions_[slot];
  session = Session();
  session.in_use = true;
  session.handle.assign(handle.data(), handle.size());
  session.pe_id = pe_id;
  index_.emplace(KeyView{session.handle, pe_id}, slot);
  return slot;
}

void SessionTable::Erase(uint32_t slot) {
  Session& session = sessions_[slot];
  Unlink(slot);
  index_.erase(KeyView{session.handle, session.pe_id});
  session.in_use = false;
  session.reports.clear();
  free_.push_back(slot);
}

AssocState* SessionTable::FindState(const AssocRef& assoc) {
  auto it = assocs_.find(assoc);
  return it == assocs_.end() ? nullptr : &it->second;
}

void SessionTable::Link(uint32_t slot, const AssocRef& assoc) {
  Session& session = sessions_[slot];
  if (session.linked && session.assoc == assoc) return;
  Unlink(slot);
  session.assoc = assoc;
  AssocState* state = FindState(assoc);
  if (state == nullptr) return;  // the association is already gone
  session.next_in_assoc = state->first_session;
  session.prev_in_assoc = kNoSession;
  if (state->first_session != kNoSession) sessions_[state->first_session].prev_in_assoc = slot;
  state->first_session = slot;
  ++state->pes;
  ++pes_by_peer_[assoc.peer];
  session.linked = true;
}

void SessionTable::Unlink(uint32_t slot) {
  Session& session = sessions_[slot];
  if (!session.linked) return;
  session.linked = false;
  if (AssocState* state = FindState(session.assoc); state != nullptr) {
    if (session.prev_in_assoc != kNoSession) {
      sessions_[session.prev_in_assoc].next_in_assoc = session.next_in_assoc;
    } else {
      state->first_session = session.next_in_assoc;
    }
    if (session.next_in_assoc != kNoSession) {
      sessions_[session.next_in_assoc].prev_in_assoc = session.prev_in_assoc;
    }
    --state->pes;
  }
  session.prev_in_assoc = session.next_in_assoc = kNoSession;
  auto peer = pes_by_peer_.find(session.assoc.peer);
  if (peer != pes_by_peer_.end() && --peer->second == 0) pes_by_peer_.erase(peer);
}

}  // namespace rspd::control
