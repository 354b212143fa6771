// sctp_echo: the baseline for rspd's throughput benchmarks. The same packet
// path as rspd (the dataplane's I/O loop: a kernel UDP socket, or DPDK ports
// with --io=dpdk -> SCTP bridge over usrsctp AF_CONN, one loop on one
// thread), but every message is answered with a message of --reply_size
// bytes instead of going through the registrar.
//
//   sctp_echo --udp_port=0 --reply_size=200
//   sctp_echo --io=dpdk --dpdk_eal_args="--no-pci --vdev=net_af_packet0,iface=eth1"
//     --dpdk_addresses=10.0.0.1/24

#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "control/config.h"
#include "dataplane/dpdk_port_io.h"
#include "dataplane/io_loop.h"
#include "dataplane/udp_socket_io.h"
#include "tools/stop_signals.h"

ABSL_FLAG(std::string, bind_address, "127.0.0.1", "local address");
ABSL_FLAG(uint16_t, udp_port, 9899, "UDP encapsulation port; 0 picks one");
ABSL_FLAG(uint16_t, sctp_port, 3863, "SCTP port to accept on");
ABSL_FLAG(uint32_t, reply_size, 0, "bytes per reply; 0 echoes the request");
ABSL_FLAG(std::string, io, "socket", "socket or dpdk, as rspd's --io");
ABSL_FLAG(std::string, dpdk_eal_args, "", "--io=dpdk: EAL arguments, as rspd's");
ABSL_FLAG(std::vector<std::string>, dpdk_addresses, {},
          "--io=dpdk: port 0's addresses, ADDRESS/PREFIX, comma-separated");

namespace {

using rspd::dataplane::AssocRef;
using rspd::dataplane::InboundMessage;
using rspd::dataplane::IoLoop;

// Answers every message at once, on the association it came on.
class Echo final : public IoLoop::Application {
 public:
  Echo(IoLoop* loop, uint32_t reply_size) : loop_(loop), reply_(reply_size, 0x5a) {}
  void OnMessage(const InboundMessage& m, IoLoop::Tick) override {
    ++messages_;
    loop_->Send(m.from, m.local_port, m.ppid,
                reply_.empty() ? m.data : absl::MakeConstSpan(reply_));
  }
  void OnAssociationDown(const AssocRef&, uint16_t, IoLoop::Tick) override {}
  void OnInputDone(IoLoop::Tick) override {}
  void OnTick(IoLoop::Tick) override {}
  bool Busy() const override { return false; }
  bool IsPriority(const void*) const override { return false; }
  uint64_t messages() const { return messages_; }

 private:
  IoLoop* loop_;
  std::vector<uint8_t> reply_;
  uint64_t messages_ = 0;
};

uint16_t g_udp_port = 0;

absl::StatusOr<std::unique_ptr<rspd::dataplane::PacketIo>> OpenIo() {
  const std::string io = absl::GetFlag(FLAGS_io);
  if (io == "socket") {
    auto socket = rspd::dataplane::UdpSocketIo::Open(absl::GetFlag(FLAGS_bind_address),
                                                     absl::GetFlag(FLAGS_udp_port));
    if (!socket.ok()) return socket.status();
    g_udp_port = (*socket)->port();
    return std::unique_ptr<rspd::dataplane::PacketIo>(std::move(*socket));
  }
  if (io != "dpdk") return absl::InvalidArgumentError("--io must be socket or dpdk");
  rspd::dataplane::DpdkOptions options;
  options.eal_args = absl::StrSplit(absl::GetFlag(FLAGS_dpdk_eal_args), ' ', absl::SkipEmpty());
  options.encapsulation_port = absl::GetFlag(FLAGS_udp_port);
  options.ports.resize(1);
  for (const std::string& text : absl::GetFlag(FLAGS_dpdk_addresses)) {
    absl::StatusOr<rspd::control::DpdkAddress> a = rspd::control::ParseDpdkAddress(text);
    if (!a.ok() || a->port != 0 || a->prefix_length < 0) {
      return absl::InvalidArgumentError(absl::StrCat("--dpdk_addresses: bad '", text, "'"));
    }
    options.ports[0].addresses.push_back({a->ip, a->prefix_length});
  }
  auto dpdk = rspd::dataplane::DpdkPortIo::Open(options);
  if (!dpdk.ok()) return dpdk.status();
  g_udp_port = options.encapsulation_port;
  return std::unique_ptr<rspd::dataplane::PacketIo>(std::move(*dpdk));
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  sigset_t stop = rspd::tools::BlockStopSignals();

  absl::StatusOr<std::unique_ptr<rspd::dataplane::PacketIo>> io = OpenIo();
  if (!io.ok()) {
    fprintf(stderr, "sctp_echo: %s\n", std::string(io.status().message()).c_str());
    return 1;
  }
  IoLoop::Options options;
  options.sctp.listen_ports = {absl::GetFlag(FLAGS_sctp_port)};
  IoLoop loop(std::move(*io), options);
  Echo echo(&loop, absl::GetFlag(FLAGS_reply_size));
  loop.set_application(&echo);
  printf("sctp_echo udp %s:%u\nready\n", absl::GetFlag(FLAGS_bind_address).c_str(), g_udp_port);
  fflush(stdout);

  std::thread stopper([&] {
    int signal_number;
    sigwait(&stop, &signal_number);
    loop.RequestStop();
  });
  loop.Run();
  stopper.join();
  printf("messages_in %llu\n", static_cast<unsigned long long>(echo.messages()));
  return 0;
}
