#include "control/management/server.h"

#include <civetweb.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "protocol/address.h"

namespace rspd::control::management {
namespace {

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    default:
      return "Service Unavailable";
  }
}

// One write, formatted here: civetweb's workers run on small fixed stacks
// (100 KiB in Debian's build), and its printf keeps an 8 KiB buffer on them.
void Reply(mg_connection* conn, int status, const char* content_type, const std::string& body) {
  const std::string response =
      absl::StrCat("HTTP/1.1 ", status, " ", Reason(status), "\r\nContent-Type: ", content_type,
                   "\r\nContent-Length: ", body.size(),
                   "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n", body);
  mg_write(conn, response.data(), response.size());
}

// Query variables are read up to this many bytes (a pool handle of 1024,
// its hex form); longer ones come back as kMaxVar + 1 bytes, which every
// check refuses.
constexpr size_t kMaxVar = 2048;

// A query variable, URL-decoded (it may hold any byte); nullopt if absent.
std::optional<std::string> Var(const mg_request_info* info, const char* name) {
  if (info->query_string == nullptr) return std::nullopt;
  std::string buffer(kMaxVar + 1, '\0');
  const int n = mg_get_var(info->query_string, strlen(info->query_string), name, buffer.data(),
                           buffer.size());
  if (n == -1) return std::nullopt;
  buffer.resize(n < 0 ? kMaxVar + 1 : static_cast<size_t>(n));
  return buffer;
}

}  // namespace

absl::StatusOr<protocol::HostPort> ParseListenAddress(absl::string_view address) {
  absl::StatusOr<protocol::HostPort> split = protocol::SplitHostPort(address);
  int port = -1;
  const bool digits = split.ok() && !split->port.empty() && split->port.size() <= 5 &&
                      std::all_of(split->port.begin(), split->port.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || !absl::SimpleAtoi(split->port, &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--management_address: '", address, "' is not HOST:PORT (an IP address, a port 0-65535)"));
  }
  if (!protocol::IpAddress::Parse(split->host).has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--management_address: '", split->host, "' is not an IPv4 or IPv6 address"));
  }
  // Debian's civetweb may be built without IPv6 (feature 8): say so rather
  // than fail to listen.
  if (split->host.find(':') != std::string::npos && mg_check_feature(8) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--management_address: '", address,
        "': this system's civetweb has no IPv6; give an IPv4 address (e.g. 127.0.0.1:9911)"));
  }
  return split;
}

absl::StatusOr<std::unique_ptr<ManagementServer>> ManagementServer::Start(
    const std::string& address, Source* source, std::string version) {
  absl::StatusOr<protocol::HostPort> split = ParseListenAddress(address);
  if (!split.ok()) return split.status();
  const int port = std::stoi(split->port);
  const bool v6 = split->host.find(':') != std::string::npos;
  mg_init_library(0);
  const std::string listen =
      v6 ? absl::StrCat("[", split->host, "]:", port) : absl::StrCat(split->host, ":", port);
  const std::string threads = absl::StrCat(kThreads);
  const std::string request_timeout = absl::StrCat(kRequestTimeoutMillis);
  const char* options[] = {"listening_ports",
                           listen.c_str(),
                           "num_threads",
                           threads.c_str(),
                           "request_timeout_ms",
                           request_timeout.c_str(),
                           "enable_keep_alive",
                           "no",
                           nullptr};
  std::unique_ptr<ManagementServer> server(new ManagementServer(source));
  server->version_ = std::move(version);
  mg_callbacks callbacks;
  memset(&callbacks, 0, sizeof(callbacks));
  // civetweb's own messages (a failed bind) come back as Start's error.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  server->context_ = mg_start(&callbacks, server.get(), options);
  if (server->context_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("--management_address: cannot listen on ", address,
                                               " (in use, or not a local address)"));
  }
  mg_server_port ports[4];
  const int n = mg_get_server_ports(server->context_, 4, ports);
  const int bound = n > 0 ? ports[0].port : port;
  server->address_ =
      v6 ? absl::StrCat("[", split->host, "]:", bound) : absl::StrCat(split->host, ":", bound);
  mg_set_request_handler(server->context_, "/", &ManagementServer::Handle, server.get());
  return server;
}

ManagementServer::~ManagementServer() {
  if (context_ != nullptr) mg_stop(context_);
}

int ManagementServer::Handle(mg_connection* conn, void* self) {
  static_cast<ManagementServer*>(self)->Serve(conn);
  return 1;
}

void ManagementServer::Serve(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  const auto refuse = [&](int status, absl::string_view why) {
    management_bad_requests_.fetch_add(1, std::memory_order_relaxed);
    Reply(conn, status, kJsonType, RenderErrorJson(why));
  };
  const auto unavailable = [&] {
    management_timeouts_.fetch_add(1, std::memory_order_relaxed);
    Reply(conn, 503, kJsonType,
          RenderErrorJson(absl::StrCat("the registrar did not answer within ",
                                       absl::FormatDuration(kTimeout))));
  };
  if (strcmp(info->request_method, "GET") != 0) {
    refuse(405, "only GET is served");
    return;
  }
  const std::string path = info->local_uri != nullptr ? info->local_uri : "";
  size_t limit = kDefaultLimit;
  if (std::optional<std::string> text = Var(info, "limit"); text.has_value()) {
    if (!absl::SimpleAtoi(*text, &limit) || limit == 0 || limit > kMaxLimit) {
      refuse(400, absl::StrCat("limit must be 1 to ", kMaxLimit));
      return;
    }
  }
  if (path == "/metrics" || path == "/api/status") {
    StatusSnapshot status;
    if (!source_->Status(&status, kTimeout)) return unavailable();
    status.version = version_;
    ForEachCounter([&](const char* name, const char* help, uint64_t value) {
      status.families.push_back({name, help, Family::kCounter, {{"", "", value}}});
    });
    management_requests_.fetch_add(1, std::memory_order_relaxed);
    if (path == "/metrics") {
      Reply(conn, 200, kOpenMetricsType, RenderOpenMetrics(status));
    } else {
      Reply(conn, 200, kJsonType, RenderStatusJson(status));
    }
    return;
  }
  if (path == "/api/pools") {
    PoolOrder order = PoolOrder::kHandle;
    if (std::optional<std::string> text = Var(info, "sort"); text.has_value()) {
      std::optional<PoolOrder> parsed = ParsePoolOrder(*text);
      if (!parsed.has_value()) return refuse(400, "sort must be handle, elements or busiest");
      order = *parsed;
    }
    PoolsSnapshot pools;
    if (!source_->Pools(&pools, kTimeout)) return unavailable();
    management_requests_.fetch_add(1, std::memory_order_relaxed);
    Reply(conn, 200, kJsonType, RenderPoolsJson(pools, order, limit));
    return;
  }
  if (path == "/api/pool") {
    std::optional<std::string> handle = Var(info, "handle");
    if (std::optional<std::string> hex = Var(info, "handle_hex"); hex.has_value()) {
      const bool valid = hex->size() % 2 == 0 && std::all_of(hex->begin(), hex->end(), [](char c) {
                           return absl::ascii_isxdigit(static_cast<unsigned char>(c));
                         });
      if (handle.has_value() || !valid) {
        return refuse(400, "give handle=NAME or handle_hex=HEX (an even number of hex digits)");
      }
      handle = absl::HexStringToBytes(*hex);
    }
    // RFC 5352 §5.1: a pool handle is 1 to a few hundred bytes.
    if (!handle.has_value() || handle->empty() || handle->size() > 1024) {
      return refuse(400, "give handle=NAME or handle_hex=HEX (1 to 1024 bytes)");
    }
    PoolSnapshot pool;
    if (!source_->Pool(*handle, limit, &pool, kTimeout)) return unavailable();
    if (!pool.found) return refuse(404, "unknown pool");
    management_requests_.fetch_add(1, std::memory_order_relaxed);
    Reply(conn, 200, kJsonType, RenderPoolJson(pool));
    return;
  }
  if (path == "/api/peers") {
    PeersSnapshot peers;
    if (!source_->Peers(&peers, kTimeout)) return unavailable();
    management_requests_.fetch_add(1, std::memory_order_relaxed);
    Reply(conn, 200, kJsonType, RenderPeersJson(peers));
    return;
  }
  refuse(404, "unknown path: try /metrics, /api/status, /api/pools, /api/pool, /api/peers");
}

}  // namespace rspd::control::management
