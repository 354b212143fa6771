// File: tools/rspctl_print.h
//
// How rspctl prints a PE, in one place: `resolve` and `dump` print the same
// line (or JSON object) for it.
//
// Example:
//   PrintPoolElement("echo", pe, /*json=*/false);
//   // pe_id=0x00000064 home=0x00000001 sctp:127.0.0.1:7 policy="Round Robin" life=30

#pragma once

#include "absl/strings/string_view.h"
#include "protocol/pool_element.h"

namespace rspd::tools {

// One line on stdout: `key=value` fields (starting with pool=POOL when
// `name_pool`), or with `json` one JSON object (with its pool handle).
void PrintPoolElement(absl::string_view pool, const protocol::PoolElement& e, bool json,
                      bool name_pool = false);

}  // namespace rspd::tools
