#include "control/management/http_client.h"

#include <civetweb.h>
#include <strings.h>

#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "protocol/address.h"

namespace rspd::control::management {

absl::StatusOr<HttpResponse> HttpGet(absl::string_view address, absl::string_view path,
                                     absl::Duration timeout, size_t max_body) {
  absl::StatusOr<protocol::HostPort> split = protocol::SplitHostPort(std::string(address));
  int port = 0;
  if (!split.ok() || !absl::SimpleAtoi(split->port, &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("management address '", address, "' is not HOST:PORT"));
  }
  static const bool initialized = mg_init_library(0) != 0;
  (void)initialized;
  char error[256] = "";
  mg_connection* conn =
      mg_connect_client(split->host.c_str(), port, /*use_ssl=*/0, error, sizeof(error));
  if (conn == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach rspd's management interface at ", address, ": ", error));
  }
  const std::string host = split->host.find(':') != std::string::npos
                               ? absl::StrCat("[", split->host, "]")
                               : split->host;
  const std::string request = absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: ", host, ":", port,
                                           "\r\nConnection: close\r\n\r\n");
  if (mg_write(conn, request.data(), request.size()) != static_cast<int>(request.size())) {
    mg_close_connection(conn);
    return absl::UnavailableError(absl::StrCat("sending to ", address, " failed"));
  }
  const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  if (mg_get_response(conn, error, sizeof(error), timeout_ms) < 0) {
    mg_close_connection(conn);
    return absl::UnavailableError(absl::StrCat("no answer from ", address, " within ",
                                               absl::FormatDuration(timeout), ": ", error));
  }
  HttpResponse response;
  const mg_response_info* info = mg_get_response_info(conn);
  response.status = info->status_code;
  for (int i = 0; i < info->num_headers; ++i) {
    if (strcasecmp(info->http_headers[i].name, "Content-Type") == 0) {
      response.content_type = info->http_headers[i].value;
    }
  }
  char buffer[16384];
  for (;;) {
    const int n = mg_read(conn, buffer, sizeof(buffer));
    if (n <= 0) break;
    if (response.body.size() + n > max_body) {
      mg_close_connection(conn);
      return absl::ResourceExhaustedError(
          absl::StrCat("answer from ", address, path, " is larger than ", max_body, " bytes"));
    }
    response.body.append(buffer, n);
  }
  mg_close_connection(conn);
  return response;
}

}  // namespace rspd::control::management
