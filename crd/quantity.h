// Kubernetes resource quantities ("500m", "64Gi", "1.5", "2e3") held exactly as signed milli-units, the precision
// the scheduler works in. Parsing follows apimachinery's grammar; values finer than 1m round up, as
// Quantity.MilliValue() does. Values beyond int64 milli-units (about 9.2e15 units) are rejected, not wrapped.
#ifndef TESSERA_CRD_QUANTITY_H_
#define TESSERA_CRD_QUANTITY_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tessera::crd {

class Quantity {
 public:
  enum class Format { kDecimal, kBinary };

  Quantity() = default;
  static Quantity FromMilli(int64_t milli) { return Quantity(milli, Format::kDecimal); }
  static Quantity FromUnits(int64_t units) { return Quantity(units * 1000, Format::kDecimal); }
  // Byte counts print with binary suffixes ("64Gi") when they divide evenly.
  static Quantity FromBytes(int64_t bytes) { return Quantity(bytes * 1000, Format::kBinary); }

  static Result<Quantity> Parse(std::string_view text);

  int64_t milli() const { return milli_; }
  // Whole units, rounded up (a request of 1500m needs 2 whole units).
  int64_t UnitsCeil() const { return milli_ >= 0 ? (milli_ + 999) / 1000 : -((-milli_) / 1000); }
  Format format() const { return format_; }
  bool IsZero() const { return milli_ == 0; }

  // Canonical text: "500m", "4", "64Gi".
  std::string ToString() const;

  friend bool operator==(const Quantity& a, const Quantity& b) { return a.milli_ == b.milli_; }
  friend bool operator<(const Quantity& a, const Quantity& b) { return a.milli_ < b.milli_; }

 private:
  Quantity(int64_t milli, Format format) : milli_(milli), format_(format) {}
  int64_t milli_ = 0;
  Format format_ = Format::kDecimal;
};

using ResourceList = std::map<std::string, Quantity>;

}  // namespace tessera::crd

#endif  // TESSERA_CRD_QUANTITY_H_
