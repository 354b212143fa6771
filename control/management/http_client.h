// File: control/management/http_client.h
//
// A GET against rspd's management interface (docs/management.md), for the
// operators' tools (rspctl's live views, the SNMP subagent). HTTP comes from
// civetweb's client; this adds the address syntax, a deadline, a size limit
// and errors that say what failed.
//
// Example:
//   absl::StatusOr<HttpResponse> r = HttpGet("127.0.0.1:9911", "/api/status", absl::Seconds(5));
//   if (r.ok() && r->status == 200) Use(r->body);

#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace rspd::control::management {

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// GETs `path` from `address` ("HOST:PORT", "[V6]:PORT"). Fails with
// Unavailable when nothing answers in `timeout`, InvalidArgument for a bad
// address, ResourceExhausted past `max_body` bytes.
absl::StatusOr<HttpResponse> HttpGet(absl::string_view address, absl::string_view path,
                                     absl::Duration timeout, size_t max_body = 64 << 20);

}  // namespace rspd::control::management
