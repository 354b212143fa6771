// sctp_echo: the baseline for rspd's throughput benchmark. The same packet
// path as rspd --io=socket (kernel UDP socket -> SCTP bridge over usrsctp
// AF_CONN, one loop on one thread), but every message is answered with a
// message of --reply_size bytes instead of going through the registrar.
//
//   sctp_echo --udp_port=0 --reply_size=200

#include <poll.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "dataplane/sctp_bridge.h"
#include "dataplane/socket_io.h"
#include "tools/stop_signals.h"

ABSL_FLAG(std::string, bind_address, "127.0.0.1", "local address");
ABSL_FLAG(uint16_t, udp_port, 9899, "UDP encapsulation port; 0 picks one");
ABSL_FLAG(uint16_t, sctp_port, 3863, "SCTP port to accept on");
ABSL_FLAG(uint32_t, reply_size, 0, "bytes per reply; 0 echoes the request");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  sigset_t stop = rspd::tools::BlockStopSignals();

  auto io = rspd::dataplane::UdpSocketIo::Open(absl::GetFlag(FLAGS_bind_address),
                                               absl::GetFlag(FLAGS_udp_port));
  if (!io.ok()) {
    fprintf(stderr, "sctp_echo: %s\n", std::string(io.status().message()).c_str());
    return 1;
  }
  const uint16_t port = absl::GetFlag(FLAGS_sctp_port);
  std::vector<uint8_t> reply(absl::GetFlag(FLAGS_reply_size), 0x5a);
  std::unique_ptr<rspd::dataplane::SctpBridge> bridge;
  rspd::dataplane::SctpBridge::Options options;
  options.listen_ports = {port};
  bridge = std::make_unique<rspd::dataplane::SctpBridge>(
      options,
      [&](const rspd::dataplane::Endpoint& to, absl::Span<const uint8_t> packet) {
        return (*io)->Send(to, packet);
      },
      [&](const rspd::dataplane::SctpBridge::Delivery& d) {
        bridge->Send(d.peer, d.local_port, d.assoc, d.ppid,
                     reply.empty() ? d.data : absl::MakeConstSpan(reply), d.stream);
      },
      [](rspd::dataplane::SctpBridge::Peer*, uint16_t, uint32_t,
         rspd::dataplane::SctpBridge::AssocEvent) {});
  printf("sctp_echo udp %s:%u\nready\n", absl::GetFlag(FLAGS_bind_address).c_str(), (*io)->port());
  fflush(stdout);

  std::atomic<bool> stopping{false};
  std::thread stopper([&] {
    int signal_number;
    sigwait(&stop, &signal_number);
    stopping = true;
  });
  auto now_ms = [] {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
  };
  // The same loop shape as control::Registrar::Run.
  uint64_t last = now_ms();
  pollfd fds[1] = {{(*io)->fd(), POLLIN, 0}};
  while (!stopping) {
    poll(fds, 1, 10);
    for (int bursts = 0; bursts < 64; ++bursts) {
      size_t n = (*io)->ReceiveBurst(
          [&](const rspd::dataplane::Endpoint& from, absl::Span<const uint8_t> packet) {
            bridge->Input(from, packet);
          });
      (*io)->Flush();
      if (n < rspd::dataplane::UdpSocketIo::kBurst) break;
    }
    uint64_t now = now_ms();
    if (now - last >= 10) {
      bridge->AdvanceTimers(static_cast<uint32_t>(now - last));
      last = now;
      (*io)->Flush();
    }
  }
  stopper.join();
  printf("messages_in %llu\n",
         static_cast<unsigned long long>(bridge->stats().sctp_messages_in.load()));
  bridge.reset();
  return 0;
}
