// File: dataplane/io_loop.h
//
// The I/O loop: the one thread that moves packets (docs/architecture.md,
// "Threads"). Each turn it reads what the packet I/O backend holds, in
// bursts, into a two-class ingress queue (datagrams from remotes the
// application marks as priority first: the registrar's PE holders), feeds
// the SCTP bridge from it, hands whole messages to the application, runs the
// timers every tick, and flushes what was sent. When it falls behind it sheds
// normal datagrams itself and raises overload signals (overload.h), which the
// application reads before it removes a PE that seems silent
// (docs/limits.md, "Overload").
//
// The application (the registrar's protocol logic, or sctp_echo's echo) sees
// no socket, usrsctp or sockaddr: InboundMessages and a MessageSender
// (transport.h). Everything runs on the thread that calls Run(); RequestStop
// may be called from any thread.
//
// Depends on protocol/address.h and dataplane/ only.
//
// Example:
//   auto io = UdpSocketIo::Open("127.0.0.1", 9899);
//   IoLoop loop(std::move(*io), options);
//   loop.set_application(&app);   // app: an IoLoop::Application
//   loop.Run();                   // until RequestStop()

#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/functional/function_ref.h"
#include "dataplane/ingress_queue.h"
#include "dataplane/overload.h"
#include "dataplane/packet_io.h"
#include "dataplane/sctp_bridge.h"
#include "dataplane/tls_associations.h"
#include "dataplane/transport.h"

namespace rspd::dataplane {

// Counters of the loop itself (docs/style.md, "Counters").
// clang-format off
#define RSPD_IO_LOOP_STATS(X) \
  X(ingress_shed_priority, "priority datagrams the ingress queue had no room for") \
  X(ingress_shed_normal, "normal datagrams the ingress queue had no room for") \
  X(idle_sleeps, "sleeps of a polled loop that had no input")
// clang-format on

struct IoLoopStats {
#define RSPD_IO_LOOP_STAT_FIELD(name, help) std::atomic<uint64_t> name{0};
  RSPD_IO_LOOP_STATS(RSPD_IO_LOOP_STAT_FIELD)
#undef RSPD_IO_LOOP_STAT_FIELD
  static void Bump(std::atomic<uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  template <typename Fn>
  void ForEach(Fn fn) const {
#define RSPD_IO_LOOP_STAT_EXPORT(name, help) fn(#name, help, name.load(std::memory_order_relaxed));
    RSPD_IO_LOOP_STATS(RSPD_IO_LOOP_STAT_EXPORT)
#undef RSPD_IO_LOOP_STAT_EXPORT
  }
};

class IoLoop final : public MessageSender,
                     public AddressedSender,
                     private SctpBridge::Handler,
                     private TlsAssociations::Upcalls {
 public:
  using Tick = uint64_t;  // milliseconds of CLOCK_MONOTONIC
  // The loop wakes at least this often to drive SCTP and application
  // timers: usrsctp's timer granularity is 10 ms.
  static constexpr Tick kTickMillis = 10;

  // What runs on top of the loop. Every call is on the loop's thread.
  class Application {
   public:
    // One whole message on an association.
    virtual void OnMessage(const InboundMessage& message, Tick now) = 0;
    // An association is gone; its AssocRef is never seen again.
    virtual void OnAssociationDown(const AssocRef& assoc, uint16_t local_port, Tick now) = 0;
    // After each turn's input, and at each tick: replies that wait for
    // answers from elsewhere (shard lcores) go out here.
    virtual void OnInputDone(Tick now) = 0;
    // Every kTickMillis (or later, under load).
    virtual void OnTick(Tick now) = 0;
    // True while the application owes work the loop must not sleep on.
    virtual bool Busy() const = 0;
    // Whether datagrams from transport peer `peer` go first when the loop
    // must choose (keep-alive ACKs and re-registrations of the registrar's
    // PEs).
    virtual bool IsPriority(const void* peer) const = 0;

   protected:
    ~Application() = default;
  };
  // A descriptor the loop watches besides the packet backend's.
  class Watcher {
   public:
    virtual void OnReadable(Tick now) = 0;

   protected:
    ~Watcher() = default;
  };

  struct Options {
    SctpBridge::Options sctp;
    IngressQueue::Options ingress;
    // A backend without a descriptor to sleep on (DPDK) is polled. After
    // kSpinTurns turns without input the loop sleeps between polls, from
    // kMinIdleSleepMicros doubling up to this (the added latency of the
    // first packet after a quiet spell); 0 polls without pause, for a
    // dedicated core (docs/dpdk.md, "Threads and idling"). 0, or
    // kMinIdleSleepMicros to kTickMillis * 1000 (a longer nap would make the
    // timers late).
    uint32_t max_idle_sleep_us = 500;
    // The secure ports (TLS, tls_associations.h); their ports must be among
    // sctp.listen_ports.
    std::vector<TlsAssociations::Service> tls;
  };
  // Turns without input before a polled loop starts sleeping: well past the
  // gaps between the packets of one exchange (microseconds), far below what
  // a busy core notices.
  static constexpr uint32_t kSpinTurns = 256;
  static constexpr uint32_t kMinIdleSleepMicros = 16;
  // A polled loop that spins looks at its watched descriptors every this
  // many turns (one poll(2) per turn would cost more than the turn).
  static constexpr uint32_t kWatchEvery = 64;

  IoLoop(std::unique_ptr<PacketIo> io, const Options& options);
  ~IoLoop();
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  // Must be called before Run(); `application` must outlive the loop's use.
  void set_application(Application* application) { application_ = application; }
  // Calls watcher->OnReadable(now) whenever `fd` is readable.
  void Watch(int fd, Watcher* watcher);

  // Runs until RequestStop().
  void Run();
  void RequestStop() { stop_.store(true, std::memory_order_relaxed); }

  // MessageSender: a message on an association.
  bool Send(const AssocRef& to, uint16_t local_port, uint32_t ppid,
            absl::Span<const uint8_t> message) override;

  // AddressedSender: a message to a transport address.
  bool SendTo(const protocol::IpAddress& ip, uint16_t udp_port, uint16_t local_port,
              uint16_t remote_port, uint32_t ppid, absl::Span<const uint8_t> message) override;
  Tick now() const { return now_; }
  // The overload signals: the loop raises its own; the application may raise
  // more (a full shard ring) and reads them before removing silent PEs.
  OverloadMonitor& overload() { return overload_; }
  const OverloadMonitor& overload() const { return overload_; }
  // Calls fn(name, help, value) for the counters of the loop, the packet
  // backend, the SCTP bridge and the overload signals, and the bridge's
  // peer and association gauges, and TLS's.
  void ForEachCounter(PacketIo::CounterFn fn) const;

 private:
  static Tick NowMicros();
  // Reads what the backend holds, up to a budget, into the ingress queue.
  void Receive();
  // One datagram: queued in its class, or to the bridge at once if too large.
  void Admit(const Datagram& datagram);
  // Serves the ingress queue: every priority datagram, normal ones up to a
  // budget.
  void Process();

  // SctpBridge::Handler.
  int Output(const Endpoint& to, absl::Span<const uint8_t> packet) override;
  void Deliver(const SctpBridge::Delivery& delivery) override;
  void OnAssociation(SctpBridge::Peer* peer, uint16_t local_port, uint16_t remote_port,
                     SctpBridge::AssocId assoc, SctpBridge::AssocEvent event) override;
  void OnPeerClosed(SctpBridge::Peer* peer) override;
  // TlsAssociations::Upcalls.
  void OnSecureMessage(const InboundMessage& message) override;
  void OnSecureDown(const AssocRef& assoc, uint16_t logical_port) override;

  std::unique_ptr<PacketIo> io_;
  std::unique_ptr<SctpBridge> bridge_;
  std::unique_ptr<TlsAssociations> tls_;  // null without secure ports
  Application* application_ = nullptr;
  std::vector<std::pair<int, Watcher*>> watched_;
  IngressQueue ingress_;
  OverloadMonitor overload_;
  IoLoopStats stats_;
  uint32_t max_idle_sleep_us_;
  bool received_this_turn_ = false;
  bool shed_this_turn_ = false;
  uint64_t drops_seen_ = 0;
  std::atomic<bool> stop_{false};
  Tick now_ = 0;
};

}  // namespace rspd::dataplane
