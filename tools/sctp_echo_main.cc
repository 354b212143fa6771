// sctp_echo: the baseline for rspd's throughput benchmark. The same packet
// path as rspd --io=socket (the dataplane's I/O loop: kernel UDP socket ->
// SCTP bridge over usrsctp AF_CONN, one loop on one thread), but every
// message is answered with a message of --reply_size bytes instead of going
// through the registrar.
//
//   sctp_echo --udp_port=0 --reply_size=200

#include <signal.h>

#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "dataplane/io_loop.h"
#include "dataplane/udp_socket_io.h"
#include "tools/stop_signals.h"

ABSL_FLAG(std::string, bind_address, "127.0.0.1", "local address");
ABSL_FLAG(uint16_t, udp_port, 9899, "UDP encapsulation port; 0 picks one");
ABSL_FLAG(uint16_t, sctp_port, 3863, "SCTP port to accept on");
ABSL_FLAG(uint32_t, reply_size, 0, "bytes per reply; 0 echoes the request");

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

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  sigset_t stop = rspd::tools::BlockStopSignals();

  auto io = rspd::dataplane::UdpSocketIo::Open(absl::GetFlag(FLAGS_bind_address),
                                               absl::GetFlag(FLAGS_udp_port));
  if (!io.ok()) {
    fprintf(stderr, "sctp_echo: %s\n", std::string(io.status().message()).c_str());
    return 1;
  }
  const uint16_t udp_port = (*io)->port();
  IoLoop::Options options;
  options.sctp.listen_ports = {absl::GetFlag(FLAGS_sctp_port)};
  IoLoop loop(std::move(*io), options);
  Echo echo(&loop, absl::GetFlag(FLAGS_reply_size));
  loop.set_application(&echo);
  printf("sctp_echo udp %s:%u\nready\n", absl::GetFlag(FLAGS_bind_address).c_str(), udp_port);
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
