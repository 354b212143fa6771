// File: tools/stop_signals.h
//
// The binaries stop on SIGINT or SIGTERM. They block both before starting any
// thread (threads inherit the mask) and wait for them with sigwait or
// sigtimedwait, so that no handler runs in the middle of the work.
//
// Example:
//   sigset_t stop = BlockStopSignals();
//   int signal_number;
//   sigwait(&stop, &signal_number);

#pragma once

#include <signal.h>

namespace rspd::tools {

inline sigset_t BlockStopSignals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  return stop;
}

}  // namespace rspd::tools
