// File: tools/version.h
//
// The release version every rspd binary prints with --version.

#pragma once

namespace rspd {

inline constexpr char kVersion[] = "0.1.0";

}  // namespace rspd
