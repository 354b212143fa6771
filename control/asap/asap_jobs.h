// File: control/asap/asap_jobs.h
//
// The ASAP server's shard commands: each handlespace command family
// (handlespace/shard.h) with what its answer completes (the purpose, the
// association to answer, the removal's reason), pooled so that the request
// path allocates nothing once warm. The executor hands back a ShardCommand*;
// OwnerOf finds the job around it by the command's family.

#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/transport.h"
#include "handlespace/shard.h"

namespace rspd::control {

// What a command is for, and what its answer completes.
enum class Purpose : uint8_t {
  kRegistration,          // REGISTRATION_RESPONSE to `from`
  kDeregistration,        // DEREGISTRATION_RESPONSE to `from`
  kDeregistrationLookup,  // a deregistration of a PE without a session
  kResolution,            // HANDLE_RESOLUTION_RESPONSE to `from`
  kRemoval,               // a PE the registrar removes (counted in `reason`)
  kExpiry,                // lifetimes of one shard
  kRenewal,               // a PE taken over answered: its lifetime anew
};

struct Job {
  Purpose purpose = Purpose::kResolution;
  dataplane::AssocRef from;
  std::atomic<uint64_t>* reason = nullptr;  // kRemoval, kDeregistration
  uint32_t shard = 0;                       // kExpiry
  bool new_here = false;                    // kRegistration: a PE `from` does not hold yet
  uint64_t received = 0;  // kRegistration, kResolution: the loop tick of the request
};

struct RegistrationJob : handlespace::RegisterCommand, Job {};
// kDeregistration, kDeregistrationLookup, kRemoval, kRenewal.
struct ElementJob : handlespace::ElementCommand, Job {};
struct ResolutionJob : handlespace::ResolveCommand, Job {};
struct ExpiryJob : handlespace::ExpireCommand, Job {};

// Jobs of one type, reused.
template <typename J>
class JobPool {
 public:
  J* Take(Purpose purpose) {
    J* job;
    if (!free_.empty()) {
      job = free_.back();
      free_.pop_back();
    } else {
      all_.push_back(std::make_unique<J>());
      job = all_.back().get();
    }
    static_cast<Job&>(*job) = Job();
    job->purpose = purpose;
    return job;
  }
  void Release(J* job) { free_.push_back(job); }

 private:
  std::vector<std::unique_ptr<J>> all_;
  std::vector<J*> free_;
};

}  // namespace rspd::control
