// File: tests/rsplib_parser.h
//
// The two functions of RSPLIB's message parser (librspmessaging, Debian
// librsplib3 3.4.4) that the interop test and the codec benchmark call. RSPLIB
// ships no header for them; the prototypes follow its rserpoolmessageparser.h
// and rserpoolmessage.h (sctp_assoc_t is 32 bits there).

#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {
// RSPLIB's struct RSerPoolMessage begins with these two members
// (rserpoolmessage.h). The parser returns 0 whatever happens and leaves its
// verdict in `error`: 0 when the message was scanned without fault (or, for a
// message carrying an Operation Error, that error's first cause code).
struct RSerPoolMessage {
  unsigned int type;
  uint16_t error;
};
union sockaddr_union;
// Returns 0 (RSPERR_OKAY) when RSPLIB accepts the message.
unsigned int rserpoolPacket2Message(char* packet, const union sockaddr_union* source_address,
                                    uint32_t assoc_id, uint32_t ppid, size_t packet_size,
                                    size_t min_buffer_size, struct RSerPoolMessage** message);
void rserpoolMessageDelete(struct RSerPoolMessage* message);
}
