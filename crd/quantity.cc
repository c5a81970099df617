#include "crd/quantity.h"

#include <limits>

namespace tessera::crd {
namespace {

__extension__ using Int128 = __int128;  // GCC and Clang both provide it on 64-bit targets
constexpr Int128 kMax = std::numeric_limits<int64_t>::max();

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

Result<Quantity> Quantity::Parse(std::string_view text) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("invalid quantity \"" + std::string(text.substr(0, 64)) + "\": " + why);
  };
  if (text.empty()) return bad("empty");
  if (text.size() > 64) return bad("longer than 64 characters");
  size_t i = 0;
  bool negative = false;
  if (text[i] == '+' || text[i] == '-') negative = text[i++] == '-';

  // Mantissa digits without the point; `exp10` counts the fraction digits (as a negative power of ten).
  Int128 mantissa = 0;
  int exp10 = 0;
  int digits = 0;
  bool seen_point = false;
  for (; i < text.size() && (IsDigit(text[i]) || text[i] == '.'); ++i) {
    if (text[i] == '.') {
      if (seen_point) return bad("two decimal points");
      seen_point = true;
      continue;
    }
    if (mantissa == 0 && text[i] == '0' && !seen_point) continue;  // leading zeros
    if (digits >= 30) {
      // Beyond 30 significant digits: integer digits overflow anyway, fraction digits are below 1m.
      if (!seen_point) return bad("out of range");
      continue;
    }
    mantissa = mantissa * 10 + (text[i] - '0');
    ++digits;
    if (seen_point) --exp10;
  }
  {
    // At least one digit must be present ("." alone is not a number).
    bool any_digit = false;
    for (size_t j = 0; j < i; ++j) any_digit = any_digit || IsDigit(text[j]);
    if (!any_digit) return bad("no digits");
  }

  std::string_view suffix = text.substr(i);
  int binary_shift = 0;
  Format format = Format::kDecimal;
  if (suffix.empty()) {
  } else if (suffix.size() == 2 && suffix[1] == 'i') {
    static constexpr std::string_view kBinary = "KMGTPE";
    size_t pos = kBinary.find(suffix[0]);
    if (pos == std::string_view::npos) return bad("unknown suffix");
    binary_shift = 10 * static_cast<int>(pos + 1);
    format = Format::kBinary;
  } else if (suffix.size() == 1) {
    switch (suffix[0]) {
      case 'n': exp10 -= 9; break;
      case 'u': exp10 -= 6; break;
      case 'm': exp10 -= 3; break;
      case 'k': exp10 += 3; break;
      case 'M': exp10 += 6; break;
      case 'G': exp10 += 9; break;
      case 'T': exp10 += 12; break;
      case 'P': exp10 += 15; break;
      case 'E': exp10 += 18; break;
      default: return bad("unknown suffix");
    }
  } else if (suffix[0] == 'e' || suffix[0] == 'E') {
    size_t j = 1;
    bool exp_negative = false;
    if (j < suffix.size() && (suffix[j] == '+' || suffix[j] == '-')) exp_negative = suffix[j++] == '-';
    if (j >= suffix.size()) return bad("empty exponent");
    int e = 0;
    for (; j < suffix.size(); ++j) {
      if (!IsDigit(suffix[j])) return bad("malformed exponent");
      e = e * 10 + (suffix[j] - '0');
      if (e > 100) return bad("exponent out of range");
    }
    exp10 += exp_negative ? -e : e;
  } else {
    return bad("unknown suffix");
  }

  // milli = mantissa * 10^(exp10 + 3) * 2^binary_shift, rounding any fraction of a milli-unit up.
  Int128 value = mantissa;
  int scale = exp10 + 3;
  if (binary_shift > 0) {
    if (value > (kMax >> binary_shift) * 1000 + 1000) return bad("out of range");
    value <<= binary_shift;
  }
  if (scale > 0) {
    for (int s = 0; s < scale; ++s) {
      if (value > kMax) return bad("out of range");
      value *= 10;
    }
  } else if (scale < 0) {
    Int128 divisor = 1;
    for (int s = 0; s < -scale && divisor <= kMax; ++s) divisor *= 10;
    Int128 q = value / divisor;
    if (value % divisor != 0) ++q;  // round away from zero, like MilliValue()
    value = q;
  }
  if (value > kMax) return bad("out of range");
  int64_t milli = static_cast<int64_t>(value);
  return Quantity(negative ? -milli : milli, format);
}

std::string Quantity::ToString() const {
  if (milli_ % 1000 != 0) return std::to_string(milli_) + "m";
  int64_t units = milli_ / 1000;
  if (format_ == Format::kBinary && units != 0) {
    static constexpr const char* kSuffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    int level = 0;
    while (level < 6 && units % 1024 == 0) {
      units /= 1024;
      ++level;
    }
    return std::to_string(units) + kSuffix[level];
  }
  return std::to_string(units);
}

}  // namespace tessera::crd
