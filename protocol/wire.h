// File: protocol/wire.h
//
// Byte-level building blocks of the RFC 5354 codec: network-order loads and
// stores (RFC 5354 §2), a bounded writer that never writes past its buffer,
// TLV framing with padding (RFC 5354 §3), and ParamList, a list of decoded
// parameters that is either a view over received TLVs or a span of values to
// encode.
//
// Example:
//   uint8_t buffer[64];
//   Writer w(buffer);
//   size_t tlv = w.BeginTlv(0x9);
//   w.Bytes(handle);
//   w.EndTlv(tlv);
//   if (w.overflow()) ...

#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <new>
#include <type_traits>

#include "absl/types/span.h"

namespace rspd::protocol {

inline uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t Load32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}
inline void Store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void Store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// RFC 5354 §3: parameters and messages are padded to a multiple of 4 bytes.
inline constexpr size_t Padded(size_t length) { return (length + 3) & ~size_t{3}; }

// RFC 5354 §3: the two high bits of a parameter type are action bits; the
// remaining 14 bits name the parameter (RSPLIB compares types this way too).
inline constexpr uint16_t kParamActionMask = 0xc000;
inline constexpr uint16_t PureParamType(uint16_t type) { return type & ~kParamActionMask; }

// Appends into a fixed buffer. Once a write does not fit, overflow() is true,
// nothing more is written, and the encoder reports 0 bytes.
class Writer {
 public:
  explicit Writer(absl::Span<uint8_t> buffer) : data_(buffer.data()), capacity_(buffer.size()) {}

  bool overflow() const { return overflow_; }
  size_t size() const { return size_; }
  uint8_t* data() { return data_; }

  // End of the last byte that is not padding: a TLV's or message's length
  // ends here (RFC 5354 §3: the last nested parameter's padding is not counted).
  size_t content_end() const { return content_end_; }

  void U8(uint8_t v) {
    if (uint8_t* p = Content(1)) *p = v;
  }
  void U16(uint16_t v) {
    if (uint8_t* p = Content(2)) Store16(p, v);
  }
  void U32(uint32_t v) {
    if (uint8_t* p = Content(4)) Store32(p, v);
  }
  void Bytes(const void* bytes, size_t length) {
    if (length == 0) return;
    if (uint8_t* p = Content(length)) memcpy(p, bytes, length);
  }
  void Bytes(absl::Span<const uint8_t> bytes) { Bytes(bytes.data(), bytes.size()); }
  // Zero bytes up to the next multiple of 4.
  void Pad() {
    size_t pad = Padded(size_) - size_;
    if (pad == 0) return;
    if (uint8_t* p = Reserve(pad)) {
      for (size_t i = 0; i < pad; ++i) p[i] = 0;
    }
  }

  // Starts a TLV (message or parameter) and returns its offset for EndTlv.
  size_t BeginTlv(uint16_t type) {
    Pad();
    size_t start = size_;
    U16(type);
    U16(0);
    return start;
  }
  // Writes the TLV's length (excluding trailing padding, RFC 5354 §3) and pads.
  void EndTlv(size_t start) {
    if (overflow_) return;
    size_t length = content_end_ - start;
    if (length > 0xffff) {
      overflow_ = true;
      return;
    }
    Store16(data_ + start + 2, static_cast<uint16_t>(length));
    Pad();
  }

 private:
  uint8_t* Content(size_t n) {
    uint8_t* p = Reserve(n);
    if (p != nullptr) content_end_ = size_;
    return p;
  }
  uint8_t* Reserve(size_t n) {
    if (overflow_ || capacity_ - size_ < n) {
      overflow_ = true;
      return nullptr;
    }
    uint8_t* p = data_ + size_;
    size_ += n;
    return p;
  }

  uint8_t* data_;
  size_t capacity_;
  size_t size_ = 0;
  size_t content_end_ = 0;
  bool overflow_ = false;
};

// One TLV inside an already validated region: type, value and where the next
// TLV starts.
struct Tlv {
  uint16_t type = 0;                // as on the wire, action bits included
  absl::Span<const uint8_t> value;  // without header and padding
  absl::Span<const uint8_t> whole;  // header + value, without padding
};

// Reads the TLV at the start of `region` (which must have been validated).
inline Tlv ReadTlv(absl::Span<const uint8_t> region) {
  Tlv tlv;
  tlv.type = Load16(region.data());
  uint16_t length = Load16(region.data() + 2);
  tlv.whole = region.subspan(0, length);
  tlv.value = region.subspan(4, length - 4);
  return tlv;
}
inline absl::Span<const uint8_t> AfterTlv(absl::Span<const uint8_t> region) {
  size_t next = Padded(Load16(region.data() + 2));
  return next >= region.size() ? absl::Span<const uint8_t>() : region.subspan(next);
}

// How a parameter list finds and reads its items: by default T's own
//   static bool Matches(uint16_t pure_type);
//   static T FromWire(const Tlv& tlv, absl::Span<const uint8_t> rest);
// where `rest` is the region after this TLV. A type that knows nothing of the
// wire (IpAddress) gets a specialization in the codec.
template <typename T>
struct ParamTraits {
  static bool Matches(uint16_t pure_type) { return T::Matches(pure_type); }
  static T FromWire(const Tlv& tlv, absl::Span<const uint8_t> rest) {
    return T::FromWire(tlv, rest);
  }
};

// A list of T, either decoded lazily from a validated wire region (only the
// TLVs for which ParamTraits<T>::Matches(type) holds are items) or given as
// values to encode.
template <typename T>
class ParamList {
 public:
  ParamList() = default;
  // Values to encode; the caller keeps them alive.
  ParamList(absl::Span<const T> values)  // NOLINT: implicit by design
      : data_(values.data()), size_(static_cast<uint32_t>(values.size())) {}
  static ParamList Wire(absl::Span<const uint8_t> region, size_t count) {
    ParamList list;
    list.data_ = region.data();
    list.wire_bytes_ = static_cast<uint32_t>(region.size());
    list.size_ = static_cast<uint32_t>(count);
    return list;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool from_wire() const { return wire_bytes_ != 0; }

  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;

    const T& operator*() const {
      return list_->from_wire() ? storage_.value : static_cast<const T*>(list_->data_)[index_];
    }
    const T* operator->() const { return &**this; }
    iterator& operator++() {
      ++index_;
      Load();
      return *this;
    }
    bool operator==(const iterator& other) const { return index_ == other.index_; }
    bool operator!=(const iterator& other) const { return index_ != other.index_; }

   private:
    friend class ParamList;
    iterator(const ParamList* list, size_t index) : list_(list), index_(index) {
      if (list->from_wire() && index < list->size_) {
        rest_ = absl::MakeConstSpan(static_cast<const uint8_t*>(list->data_), list->wire_bytes_);
        Load();
      }
    }
    // Decodes the next matching parameter (wire lists only).
    void Load() {
      if (index_ >= list_->size_ || !list_->from_wire()) return;
      while (!rest_.empty()) {
        Tlv tlv = ReadTlv(rest_);
        rest_ = AfterTlv(rest_);
        if (ParamTraits<T>::Matches(PureParamType(tlv.type))) {
          new (&storage_.value) T(ParamTraits<T>::FromWire(tlv, rest_));
          return;
        }
      }
    }
    static_assert(std::is_trivially_destructible_v<T>, "kept in a union without destruction");
    // Uninitialized until Load(): iterators over values never touch it, and
    // end() costs nothing.
    union Storage {
      Storage() {}
      T value;
    };
    const ParamList* list_;
    size_t index_;
    absl::Span<const uint8_t> rest_;
    Storage storage_;
  };

  // The first item, by value. (`*begin()` refers into the iterator: do not
  // bind it to a reference that outlives the iterator.)
  T front() const { return *begin(); }

  iterator begin() const { return iterator(this, 0); }
  iterator end() const { return iterator(this, size_); }

 private:
  // Either `size_` values of T (wire_bytes_ == 0) or `wire_bytes_` bytes of
  // validated TLVs holding `size_` matching parameters.
  const void* data_ = nullptr;
  uint32_t wire_bytes_ = 0;
  uint32_t size_ = 0;
};

}  // namespace rspd::protocol
