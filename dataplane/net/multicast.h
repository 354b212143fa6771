// File: dataplane/net/multicast.h
//
// UDP sockets for a multicast group, as ASAP_SERVER_ANNOUNCEs use them
// (RFC 5352 §3.6, §8.4: 224.0.1.185 or FF0X::133): a member socket bound to
// the group's port (shared with other listeners on this host), joined on one
// interface, and the sending side's hop limit, loopback and outgoing
// interface. IPv4 names an interface by one of its addresses, IPv6 by its
// index (RFC 3493 §5.2).
//
// Depends on dataplane/net/endpoint.h (same package) and absl only.
//
// Example:
//   MulticastInterface lo{*Endpoint::Parse("127.0.0.1", 0), 0};
//   absl::StatusOr<int> fd = JoinMulticastGroup(*Endpoint::Parse("224.0.1.185", 3863), lo, 0);
//   SetMulticastSending(*fd, AF_INET, lo, /*ttl=*/1);

#pragma once

#include "absl/status/statusor.h"
#include "dataplane/net/endpoint.h"

namespace rspd::dataplane {

// The interface a multicast socket joins on and sends from. IPv4 uses
// `address` (a wildcard: the routes choose); IPv6 uses `index`
// (InterfaceIndexOf; 0: the routes choose).
struct MulticastInterface {
  Endpoint address;
  unsigned index = 0;
};

// A UDP socket of `group`'s family (`type_flags` added to SOCK_DGRAM |
// SOCK_CLOEXEC, e.g. SOCK_NONBLOCK), bound to the wildcard address on
// `group`'s port with SO_REUSEADDR and SO_REUSEPORT (other registrars and
// PEs on this host listen too; IPv6 only for an IPv6 group), member of
// `group` on `interface`. The socket, or an error naming the group and
// errno's reason; the caller closes it.
absl::StatusOr<int> JoinMulticastGroup(const Endpoint& group, const MulticastInterface& interface,
                                       int type_flags);

// What `fd` sends to a group of `family`: hop limit `ttl`, looped back to
// this host (registrars and PEs here hear it too), out of `interface`
// unless it is the wildcard.
void SetMulticastSending(int fd, int family, const MulticastInterface& interface, int ttl);

}  // namespace rspd::dataplane
