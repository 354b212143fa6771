// File: protocol/pool_element_codec.h
//
// Between the codec's lazy view of a Pool Element parameter (PoolElementView,
// RFC 5354 §3.10) and the owned PoolElement (protocol/pool_element.h), in
// both directions, the policy values laid out by protocol/policy_table.h
// (RFC 5356 §4-5, RSPLIB's extensions). The one place that converts a PE;
// the registrar, the client library and the tools all go through it.
//
// Example:
//   PoolElement pe;
//   Cause cause = PoolElementFromView(message.pool_element, &pe);
//   if (cause != kNoError) ...  // reject with `cause`
//   EncodePoolElement(writer, pe);  // the same bytes, straight from the record

#pragma once

#include <vector>

#include "protocol/codec.h"
#include "protocol/pool_element.h"

namespace rspd::protocol {

// Fills *out; returns kNoError, or the RFC 5354 §3.12 cause to reject with:
// Invalid Values for a transport a PE record does not hold (opaque, §3.16),
// Lack of Resources for more than kMaxTransportAddresses addresses in a
// transport (RFC 5352 §3.1 rule 5).
Cause PoolElementFromView(const PoolElementView& view, PoolElement* out);

// The view of an owned PE, for a Message to encode (a registration, a
// business card); its address lists point into `pe`, which must outlive it.
PoolElementView ViewOf(const PoolElement& pe);

// The PEs of a Pool Element list (a handle resolution, a business card) that
// a record can hold; the others (opaque transport, too many addresses) are
// left out (docs/decisions.md, "Client library").
std::vector<PoolElement> OwnedElements(const ParamList<PoolElementView>& views);

// The named values of a wire policy (values beyond the type's layout are
// dropped, missing ones are 0), and back in wire order.
PolicyInfo PolicyFromWire(const Policy& wire);
Policy PolicyToWire(const PolicyInfo& policy);

// Writes a PE as a Pool Element parameter (RFC 5354 §3.10), with its ASAP
// transport when it has addresses, straight from the record; `with_udp_port`
// adds the UDP port of its ASAP endpoint when known (kUdpEncapsulationPortParam:
// ENRP, between registrars).
void EncodePoolElement(Writer& w, const PoolElement& pe, bool with_udp_port = false);
// Writes a user transport as a parameter of type `type` (the PE's own, or
// the pool's for Inconsistent Transport Type information, RFC 5354 §3.12).
void EncodeUserTransport(Writer& w, const UserTransport& transport, ParamType type);

}  // namespace rspd::protocol
