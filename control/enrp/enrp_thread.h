// File: control/enrp/enrp_thread.h
//
// The ENRP server (enrp_server.h) on a control thread of its own, as the
// appliance is built (docs/architecture.md): peer synchronization, audits,
// downloads and takeovers do not run on the I/O thread that serves ASAP.
//
// The server is touched by the ENRP thread only. The I/O thread hands it
// what arrives through an inbox: ENRP messages (copied; decoded on the ENRP
// thread), multicast PRESENCEs, the answers of its shard commands, and the
// ASAP server's owned-PE changes (OwnedPeObserver). What the server asks of
// the I/O thread's world goes the other way through an outbox that the I/O
// thread runs (RunOutbox): SCTP sends, shard commands (the shard rings keep
// their one producer), ASAP adoptions and multicast sends. An eventfd
// (wake_fd) tells the I/O loop that the outbox has work.
//
// A send the server makes counts as sent (enrp_messages_sent); one that the
// SCTP stack then refuses comes back to the server (OnSendRefused: counted
// as enrp_send_failures, and a download from that peer or its table session
// ends). Messages waiting for the ENRP thread are bounded (kMaxQueuedBytes):
// past that, the I/O thread sheds them and counts them (messages_shed); a
// peer's next PRESENCE or request makes up for any.
//
// Example (the registrar's I/O thread):
//   EnrpThread enrp(config, &shards, &loop, &loop, &asap);
//   asap.set_observer(&enrp);
//   loop.Watch(enrp.wake_fd(), watcher);  // watcher calls enrp.RunOutbox(now)
//   enrp.Start(udp_port);
//   enrp.OnMessage(inbound);                     // ENRP port and PPID
//   CollectShardAnswers(shards, asap, enrp, now);  // ENRP's answers to its inbox
//   enrp.Flush(now);                             // at the end of each turn
//   enrp.Stop();                                 // before the loop and shards go

#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/asap/asap_server.h"
#include "control/config.h"
#include "control/enrp/enrp_server.h"
#include "dataplane/shard_executor.h"
#include "dataplane/transport.h"

namespace rspd::control {

class EnrpThread final : public OwnedPeObserver,
                         private EnrpServer::Host,
                         private dataplane::MessageSender,
                         private dataplane::AddressedSender {
 public:
  using Tick = handlespace::Tick;

  // Everything passed must outlive the thread; they are used on the I/O
  // thread only (from RunOutbox and the calls below).
  EnrpThread(const RegistrarConfig& config, dataplane::ShardExecutor* shards,
             dataplane::MessageSender* sender, dataplane::AddressedSender* addressed,
             AsapServer* asap);
  ~EnrpThread();
  EnrpThread(const EnrpThread&) = delete;
  EnrpThread& operator=(const EnrpThread&) = delete;

  // Before Start: where the server's log lines and multicast PRESENCEs go
  // (the log on the ENRP thread, the multicast send on the I/O thread).
  void set_log(EnrpServer::LogFn log) { server_.set_log(std::move(log)); }
  void set_multicast(EnrpServer::MulticastFn send) { multicast_ = std::move(send); }

  // Starts the thread; the server's Start(udp_port) runs first on it (on its
  // own clock). Inline, the server starts at `now`, the loop's clock.
  void Start(uint16_t udp_port, Tick now);
  // EnrpServer::AddStaticPeers, on the ENRP thread.
  void AddStaticPeers(std::vector<RegistrarConfig::PeerAddress> peers);
  // Stops and joins the thread, then finishes on the calling (I/O) thread
  // what was in flight, so that no shard command is left unanswered.
  void Stop();

  // ---- The I/O thread.
  // An ENRP message (its bytes are copied).
  void OnMessage(const dataplane::InboundMessage& in);
  // A datagram from the ENRP multicast channel.
  void OnMulticast(const protocol::IpAddress& source, absl::Span<const uint8_t> datagram);
  // The answer to one of the server's shard commands.
  void OnShardAnswer(handlespace::ShardCommand* command, Tick now);
  // OwnedPeObserver: handed to the server's.
  void OnOwnedPeRegistered(absl::string_view handle, const protocol::PoolElement& pe) override;
  void OnOwnedPeRemoved(absl::string_view handle, const protocol::PoolElement& pe) override;
  // Runs what the ENRP thread asked of the I/O thread.
  void RunOutbox(Tick now);
  // Hands what the calls above gathered to the ENRP thread (at the end of
  // each turn of the loop, at the loop's `now`; they go by themselves past a
  // batch). Inline, runs the server there and then.
  void Flush(Tick now);
  int wake_fd() const { return wake_fd_; }
  // The peer table (the statistics, the management interface's /api/peers),
  // read on the ENRP thread; `done` gets it on the I/O thread, from
  // RunOutbox.
  struct PeerInfo {
    handlespace::RegistrarId id = 0;
    std::string address;  // HOST:UDP_PORT
    const char* state = "";
    uint64_t silent_ms = 0;  // since it was last heard
    size_t owned = 0;        // PEs it owns here (last audit)
    uint16_t checksum = 0;   // of those PEs, as we compute it (RFC 5353 §3.6.2)
  };
  void ListPeers(std::function<void(std::vector<PeerInfo>)> done);

  // ---- Any thread.
  bool ready() const { return server_.ready(); }
  // ENRP messages and multicast datagrams dropped while the ENRP thread was
  // behind (kMaxQueuedBytes waiting).
  uint64_t messages_shed() const { return messages_shed_.load(std::memory_order_relaxed); }
  size_t peer_count() const { return peer_count_.load(std::memory_order_relaxed); }
  const EnrpServerStats& stats() const { return server_.stats(); }
  const MessageCounts& message_counts() const { return server_.message_counts(); }
  // The server itself: after Stop only.
  const EnrpServer& server() const { return server_; }

 private:
  using Task = std::function<void(Tick now)>;
  // ENRP thread.
  void Loop();
  // Both gather tasks into a batch and hand it over whole (one lock, one
  // wake-up): ToIo on the thread that runs the server, ToEnrp on the I/O
  // thread.
  void ToIo(Task task);
  void FlushToIo();
  void ToEnrp(Task task);
  // Runs the server's tasks, what it asked of the I/O thread, and the
  // shards' answers, until nothing is left (inline mode's turn; Stop, with
  // `until_answered`, also until every shard command is answered). Only with
  // no thread running the server.
  void Drain(bool until_answered, Tick now);
  // The threaded half of Flush: to_enrp_ into the inbox, and a wake-up.
  void FlushToEnrp();
  // EnrpServer::Host, MessageSender, AddressedSender: to the outbox.
  uint32_t shard_count() const override { return shard_count_; }
  void Submit(uint32_t shard, handlespace::ShardCommand* command) override;
  void Adopt(absl::string_view handle, const protocol::PoolElement& pe, Tick now) override;
  void ForgetMovedPe(absl::string_view handle, uint32_t pe_id) override;
  size_t adoption_backlog() const override {
    return adoption_backlog_.load(std::memory_order_relaxed);
  }
  bool Send(const dataplane::AssocRef& to, uint16_t local_port, uint32_t ppid,
            absl::Span<const uint8_t> message) override;
  bool SendTo(const protocol::IpAddress& ip, uint16_t udp_port, uint16_t local_port,
              uint16_t remote_port, uint32_t ppid, absl::Span<const uint8_t> message) override;

  // The I/O thread's world.
  dataplane::ShardExecutor* shards_;
  dataplane::MessageSender* sender_;
  dataplane::AddressedSender* addressed_;
  AsapServer* asap_;
  EnrpServer::MulticastFn multicast_;
  const uint32_t shard_count_;
  // False: no thread; the server runs on the I/O thread at each Flush (the
  // queues still carry its work, so that both ways run the same code).
  const bool threaded_;
  bool started_ = false;  // the I/O thread's
  // Inline: the latest time the server was given (Drain keeps it monotonic).
  Tick server_now_ = 0;
  std::atomic<size_t> adoption_backlog_{0};
  std::atomic<size_t> peer_count_{0};
  std::atomic<size_t> queued_bytes_{0};     // of messages in the inbox
  std::atomic<uint64_t> messages_shed_{0};  // written by the I/O thread only
  // Admits a message of `bytes` to the inbox, or counts it shed.
  bool Admit(size_t bytes);

  EnrpServer server_;  // the ENRP thread's (the I/O thread's after Stop)

  std::vector<Task> to_io_;    // the server's thread's batch for the outbox
  std::vector<Task> to_enrp_;  // the I/O thread's batch for the inbox
  std::mutex mutex_;
  std::condition_variable wake_enrp_;
  std::vector<Task> inbox_;                  // to the ENRP thread
  std::vector<Task> outbox_;                 // to the I/O thread
  std::atomic<bool> outbox_pending_{false};  // outbox_ non-empty, wake_fd_ readable
  bool stopping_ = false;
  int wake_fd_ = -1;  // eventfd: the outbox has work
  std::thread thread_;
};

}  // namespace rspd::control
