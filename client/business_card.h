// File: client/business_card.h
//
// ASAP_BUSINESS_CARD (RFC 5352 §2.2.13, §3.9): what a PE hands a new PU so
// that the PU can fail over to the pool's other PEs in the PE's preferred
// order without asking a registrar first. Built from a handle resolution of
// the PE's own pool, leaving the PE itself out.
//
// Example:
//   auto others = session->Resolve(pool, 16, absl::Seconds(2));
//   std::optional<std::vector<uint8_t>> card = EncodeBusinessCard(pool, *others, my_pe_id);
//   if (card) server->Send(assoc, protocol::kAsapPpid, *card);

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/asap_session.h"

namespace rspd::client {

// The encoded ASAP_BUSINESS_CARD for `pool` listing the PEs of `others` in
// their order, each with all its addresses, except `own_pe_id` and PEs
// without an address (a PU could not reach them). nullopt when no PE is left.
std::optional<std::vector<uint8_t>> EncodeBusinessCard(const std::string& pool,
                                                       const Resolution& others,
                                                       uint32_t own_pe_id);

}  // namespace rspd::client
