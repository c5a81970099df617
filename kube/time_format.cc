#include "kube/time_format.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace tessera::kube {

std::string FormatRfc3339(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatMicroTime(std::chrono::system_clock::time_point t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(us % 1000000));
  return buf;
}

bool ParseRfc3339(const std::string& text, std::chrono::system_clock::time_point* out) {
  std::tm tm{};
  int y, mo, d, h, mi, sec;
  long long frac = 0;
  char dot = 0;
  const int n =
      std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c%6lld", &y, &mo, &d, &h, &mi, &sec, &dot, &frac);
  if (n < 6) return false;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  *out = std::chrono::system_clock::from_time_t(timegm(&tm)) +
         std::chrono::microseconds(n == 8 && dot == '.' ? frac : 0);
  return true;
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  const std::string shown(text);
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("duration \"" + shown + "\": " + why +
                                   " (expected e.g. 30s, 1m, 1m30s, 500ms, or plain seconds)");
  };
  if (text.empty()) return bad("empty");
  if (text.front() == '-') return bad("negative");
  if (text.front() == '+') text.remove_prefix(1);
  constexpr double kMaxMs = 100.0 * 86400 * 1000;
  // Plain seconds: digits only.
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (text.size() > 12) return bad("too large");
    const double ms = std::stod(std::string(text)) * 1000;
    if (ms > kMaxMs) return bad("too large");
    return std::chrono::milliseconds(static_cast<int64_t>(ms));
  }
  static const std::pair<std::string_view, double> kUnits[] = {
      {"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3}, {"ms", 1.0}, {"s", 1000.0}, {"m", 60000.0}, {"h", 3600000.0}};
  double total = 0;
  while (!text.empty()) {
    size_t i = 0;
    bool digits = false;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) {
      digits |= text[i] != '.';
      ++i;
    }
    if (!digits || i > 20) return bad("missing or malformed number");
    const std::string number(text.substr(0, i));
    if (std::count(number.begin(), number.end(), '.') > 1) return bad("malformed number");
    text.remove_prefix(i);
    double scale = 0;
    for (const auto& [unit, ms] : kUnits) {
      // The longest unit that matches: "ms" before "m", "ns" and "us" before "s".
      if (text.substr(0, unit.size()) == unit &&
          (text.size() == unit.size() || text[unit.size()] < 'a' || text[unit.size()] > 'z')) {
        scale = ms;
        text.remove_prefix(unit.size());
        break;
      }
    }
    if (scale == 0) return bad("missing or unknown unit (ns, us, ms, s, m, h)");
    total += std::stod(number) * scale;
    if (total > kMaxMs) return bad("too large");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total + 0.5));
}

}  // namespace tessera::kube
