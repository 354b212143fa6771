// File: handlespace/huge_page_allocator.h
//
// A std::allocator replacement for the big per-shard arrays (PE records, the
// PE index, timer links, selection heaps). Blocks of 2 MiB or more are
// 2 MiB-aligned and advised as transparent huge pages (madvise
// MADV_HUGEPAGE; Debian's default THP mode is "madvise"), so that random
// lookups in a million-entry table miss the cache but not also the TLB.
// Why: in bench/handlespace_bench.cc at 1M PEs the random probe of the 8 MB
// PE index dominated registration time (perf, team VM); with 4 KiB pages
// such a probe can miss the TLB as well as the cache. Smaller blocks come from operator new,
// 64-byte aligned.
//
// Allocation happens when a table grows or is reserved (at startup: the
// shard loop itself does not allocate once sized, docs/style.md); madvise is a
// memory hint, not I/O. Where THP is disabled the advice is ignored and the
// arrays behave as before.
//
// Example:
//   std::vector<uint32_t, HugePageAllocator<uint32_t>> index(1 << 21);

#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

namespace rspd::handlespace {

template <typename T>
class HugePageAllocator {
 public:
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;
  static constexpr size_t kCacheLine = 64;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: allocator conversion

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHugePage) {
      // Cache-line aligned, so that OrderedSet's child groups share a line.
      return static_cast<T*>(::operator new (bytes, std::align_val_t{kCacheLine}));
    }
    const size_t rounded = (bytes + kHugePage - 1) & ~(kHugePage - 1);
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (p == nullptr) {
      throw std::bad_alloc();
    }
    madvise(p, rounded, MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }

  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePage) {
      ::operator delete (p, std::align_val_t{kCacheLine});
    } else {
      std::free(p);
    }
  }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const HugePageAllocator<U>&) const {
    return false;
  }
};

template <typename T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace rspd::handlespace
