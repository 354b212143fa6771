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
  // A shell starts background jobs with SIGINT ignored, and an ignored
  // signal never reaches sigwait: restore the default disposition first.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  return stop;
}

}  // namespace rspd::tools
