// File: handlespace/selection.h
//
// The per-pool selection structures behind the RFC 5356 policies, each
// O(log n) or O(1) per selected PE and per update, none scanning a pool:
//
//   OrderedSet      4-ary indexed min-heap of (key, sequence, slot). Serves
//                   every "lowest key first, ties round robin" policy (LU,
//                   LUD, PLU, PRIO, WRR and RSPLIB's variants). `TopK` walks
//                   the heap with a small frontier: O(k log k) for k PEs.
//   WeightTree      Fenwick tree over 32-bit weights with 64-bit sums. Serves
//                   the weighted-random family (WRAND, RLU, ...): a draw is
//                   one O(log n) descent.
//
// Both keep, for every member slot, its position in a caller-owned array
// `pos` (indexed by slot), so that a PE can be updated or removed in
// O(log n) given only its slot. The round-robin and random policies need only
// an index array, kept by the pool itself.
//
// Example:
//   OrderedSet set;
//   set.Insert(OrderedEntry{load, pool_seq++, s}, pos);
//   uint32_t out[3];
//   size_t n = set.TopK(3, /*limit=*/~uint64_t{0}, out);  // lowest keys, ascending

#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "handlespace/huge_page_allocator.h"

namespace rspd::handlespace {

// Before a push_back: grows a full vector by 1/4 instead of doubling, so a
// big pool's selection array wastes at most 20% (11% on average) instead of
// up to 50%; still amortized O(1) per insertion.
template <typename V>
void GrowGently(V& v) {
  if (v.size() == v.capacity()) {
    v.reserve(v.capacity() + v.capacity() / 4 + 8);
  }
}

struct OrderedEntry {
  uint64_t key;
  uint32_t seq;
  uint32_t slot;
  bool operator<(const OrderedEntry& o) const {
    return key < o.key || (key == o.key && seq < o.seq);
  }
};

class OrderedSet {
 public:
  // Arity 4 with 16-byte entries: the 4 children of a node are exactly one
  // 64-byte cache line (the array is 64-byte aligned and starts with 3
  // padding entries, so children 4i+1..4i+4 begin on a line boundary), and a
  // heap of 100,000 PEs is 9 levels deep instead of a binary heap's 17.
  static constexpr size_t kArity = 4;
  // TopK returns at most this many (kMaxResolutionItems in types.h).
  static constexpr size_t kMaxK = 128;

  OrderedSet() : heap_(kPad, OrderedEntry{0, 0, 0}) {}

  size_t size() const { return heap_.size() - kPad; }
  bool empty() const { return heap_.size() == kPad; }
  const OrderedEntry& at(size_t i) const { return heap_[i + kPad]; }
  const OrderedEntry& top() const { return heap_[kPad]; }
  size_t MemoryBytes() const { return heap_.capacity() * sizeof(OrderedEntry); }

  void Insert(const OrderedEntry& e, uint32_t* pos) {
    GrowGently(heap_);
    heap_.push_back(e);
    SiftUp(size() - 1, pos);
  }

  // Removes the entry at heap index `i`.
  void RemoveAt(size_t i, uint32_t* pos) {
    const size_t last = size() - 1;
    if (i != last) {
      E(i) = E(last);
      pos[E(i).slot] = static_cast<uint32_t>(i);
      heap_.pop_back();
      Restore(i, pos);
    } else {
      heap_.pop_back();
    }
  }

  // Replaces key and sequence of the entry at heap index `i`.
  void Update(size_t i, uint64_t key, uint32_t seq, uint32_t* pos) {
    E(i).key = key;
    E(i).seq = seq;
    Restore(i, pos);
  }

  // Writes the slots of the (up to) k smallest entries with key < `limit`,
  // ascending, and their heap indices to `index` if given. O(k log k): a
  // frontier of candidates, never the whole heap.
  size_t TopK(size_t k, uint64_t limit, uint32_t* out, uint32_t* index = nullptr) const {
    const size_t n = size();
    k = std::min<size_t>(k, kMaxK);
    if (k == 0 || n == 0 || at(0).key >= limit) {
      return 0;
    }
    if (k == 1) {
      out[0] = at(0).slot;
      if (index != nullptr) {
        index[0] = 0;
      }
      return 1;
    }
    // Frontier: copies of the candidate entries (the children of every
    // entry taken so far), at most 1 + 3k. Entries are copied so that the
    // comparisons do not chase indices. Small k (the common 1-8 items of a
    // resolution) scans the frontier linearly; larger k keeps it a heap.
    struct Candidate {
      OrderedEntry e;
      uint32_t index;
    };
    Candidate frontier[1 + kArity * kMaxK];
    size_t fsize = 0;
    frontier[fsize++] = {at(0), 0};
    size_t produced = 0;
    const auto greater = [](const Candidate& a, const Candidate& b) { return b.e < a.e; };
    const bool linear = k <= 8;
    while (produced < k && fsize > 0) {
      Candidate best;
      if (linear) {
        size_t b = 0;
        for (size_t c = 1; c < fsize; ++c) {
          if (frontier[c].e < frontier[b].e) {
            b = c;
          }
        }
        best = frontier[b];
        frontier[b] = frontier[--fsize];
      } else {
        std::pop_heap(frontier, frontier + fsize, greater);
        best = frontier[--fsize];
      }
      if (best.e.key >= limit) {
        break;
      }
      if (index != nullptr) {
        index[produced] = best.index;
      }
      out[produced++] = best.e.slot;
      const size_t first = size_t{best.index} * kArity + 1;
      const size_t end = std::min(first + kArity, n);
      for (size_t c = first; c < end; ++c) {
        frontier[fsize++] = {at(c), static_cast<uint32_t>(c)};
        if (!linear) {
          std::push_heap(frontier, frontier + fsize, greater);
        }
      }
    }
    return produced;
  }

  // Hint: the entry at heap index i, its parent and its children (a re-keyed
  // or removed entry is compared with them).
  void PrefetchAt(size_t i) const {
    if (i < size()) {
      __builtin_prefetch(heap_.data() + kPad + i);
      __builtin_prefetch(heap_.data() + kPad + (i == 0 ? 0 : (i - 1) / kArity));
      if (i * kArity + 1 < size()) {
        __builtin_prefetch(heap_.data() + kPad + i * kArity + 1);  // children
      }
    }
  }

  // Hint: the children of the root's smallest child (TopK's third item).
  void PrefetchSecondLevel() const {
    const size_t n = size();
    if (n < 2) {
      return;
    }
    size_t best = 1;
    for (size_t c = 2; c <= kArity && c < n; ++c) {
      if (at(c) < at(best)) {
        best = c;
      }
    }
    if (best * kArity + 1 < n) {
      __builtin_prefetch(heap_.data() + kPad + best * kArity + 1);
    }
  }

  // Hint: the root and its children (what TopK and the update touch first).
  void Prefetch() const {
    const OrderedEntry* base = heap_.data();
    __builtin_prefetch(base + kPad);
    if (size() > 1) {
      __builtin_prefetch(base + kPad + 1);
    }
  }

  // Renumbers sequences 0..n-1 preserving their order (when a pool's 32-bit
  // sequence counter would wrap: once per ~4e9 selections). Returns the next
  // free sequence number. The heap order is unchanged.
  uint32_t Resequence() {
    std::vector<std::pair<uint32_t, uint32_t>> order;
    order.reserve(size());
    for (size_t i = 0; i < size(); ++i) {
      order.emplace_back(at(i).seq, static_cast<uint32_t>(i));
    }
    std::sort(order.begin(), order.end());
    for (size_t r = 0; r < order.size(); ++r) {
      E(order[r].second).seq = static_cast<uint32_t>(r);
    }
    return static_cast<uint32_t>(order.size());
  }

  // Subtracts `delta` from every key below `limit` (WRR virtual time
  // renormalization; preserves order).
  void ShiftKeys(uint64_t delta, uint64_t limit) {
    for (size_t i = 0; i < size(); ++i) {
      if (E(i).key < limit) {
        E(i).key -= delta;
      }
    }
  }

 private:
  static constexpr size_t kPad = 3;

  OrderedEntry& E(size_t i) { return heap_[i + kPad]; }

  void Restore(size_t i, uint32_t* pos) {
    if (i > 0 && E(i) < E((i - 1) / kArity)) {
      SiftUp(i, pos);
    } else {
      SiftDown(i, pos);
    }
  }

  void SiftUp(size_t i, uint32_t* pos) {
    const OrderedEntry e = E(i);
    while (i > 0) {
      const size_t parent = (i - 1) / kArity;
      if (!(e < E(parent))) {
        break;
      }
      E(i) = E(parent);
      pos[E(i).slot] = static_cast<uint32_t>(i);
      i = parent;
    }
    E(i) = e;
    pos[e.slot] = static_cast<uint32_t>(i);
  }

  void SiftDown(size_t i, uint32_t* pos) {
    const size_t n = size();
    const OrderedEntry e = E(i);
    while (true) {
      const size_t first = i * kArity + 1;
      if (first >= n) {
        break;
      }
      size_t best = first;
      const size_t end = std::min(first + kArity, n);
      for (size_t c = first + 1; c < end; ++c) {
        if (E(c) < E(best)) {
          best = c;
        }
      }
      if (!(E(best) < e)) {
        break;
      }
      E(i) = E(best);
      pos[E(i).slot] = static_cast<uint32_t>(i);
      i = best;
    }
    E(i) = e;
    pos[e.slot] = static_cast<uint32_t>(i);
  }

  HugeVector<OrderedEntry> heap_;
};

// Fenwick (binary indexed) tree of weights over member positions 0..n-1,
// with the slot of each position. Appends and swap-removes keep it dense.
class WeightTree {
 public:
  size_t size() const { return slots_.size(); }
  uint64_t total() const { return total_; }
  uint32_t weight_at(size_t i) const { return weights_[i]; }
  uint32_t slot_at(size_t i) const { return slots_[i]; }
  size_t MemoryBytes() const {
    return tree_.capacity() * sizeof(uint64_t) + weights_.capacity() * sizeof(uint32_t) +
           slots_.capacity() * sizeof(uint32_t);
  }
  void Append(uint32_t slot, uint32_t weight, uint32_t* pos) {
    const size_t i = slots_.size();
    if (i + 1 > capacity_) {
      Grow();
    }
    GrowGently(slots_);
    GrowGently(weights_);
    slots_.push_back(slot);
    weights_.push_back(0);
    pos[slot] = static_cast<uint32_t>(i);
    Set(i, weight);
  }

  // Removes position i; the last member moves into it.
  void RemoveAt(size_t i, uint32_t* pos) {
    const size_t last = slots_.size() - 1;
    if (i != last) {
      Set(i, weights_[last]);
      slots_[i] = slots_[last];
      pos[slots_[i]] = static_cast<uint32_t>(i);
    }
    Set(last, 0);
    slots_.pop_back();
    weights_.pop_back();
  }

  void Set(size_t i, uint32_t weight) {
    const uint64_t delta = uint64_t{weight} - weights_[i];  // modular
    weights_[i] = weight;
    total_ += delta;
    for (size_t j = i + 1; j <= capacity_; j += j & (~j + 1)) {
      tree_[j] += delta;
    }
  }

  // The position whose cumulative weight range contains r (0 <= r < total()).
  size_t Find(uint64_t r) const {
    size_t p = 0;
    for (size_t step = capacity_; step > 0; step >>= 1) {
      if (p + step <= capacity_ && tree_[p + step] <= r) {
        p += step;
        r -= tree_[p];
      }
    }
    return p;  // 1-based p+1 holds r, i.e. 0-based position p
  }

 private:
  void Grow() {
    capacity_ = capacity_ == 0 ? 4 : capacity_ * 2;
    tree_.assign(capacity_ + 1, 0);
    for (size_t i = 0; i < weights_.size(); ++i) {
      tree_[i + 1] += weights_[i];
    }
    for (size_t j = 1; j <= capacity_; ++j) {
      const size_t parent = j + (j & (~j + 1));
      if (parent <= capacity_) {
        tree_[parent] += tree_[j];
      }
    }
  }

  size_t capacity_ = 0;  // power of two
  uint64_t total_ = 0;
  HugeVector<uint64_t> tree_;  // 1-based
  HugeVector<uint32_t> weights_;
  HugeVector<uint32_t> slots_;
};

}  // namespace rspd::handlespace
