// Errors as values, in the spirit of leveldb::Status. No exception crosses a module boundary: anything that can
// fail returns a Status, or a Result<T> that holds either a value or the Status explaining why there is none.
#ifndef TESSERA_BASE_STATUS_H_
#define TESSERA_BASE_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace tessera {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // the caller's input is malformed or contradictory; retrying will not help
    kNotFound,
    kConflict,     // optimistic concurrency lost (HTTP 409); re-read and retry
    kUnavailable,  // transient: network, timeout, 5xx; retry later
    kIoError,      // local file could not be read or written
    kInternal,
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status Conflict(std::string msg) { return Status(Code::kConflict, std::move(msg)); }
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }
  static Status IoError(std::string msg) { return Status(Code::kIoError, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsConflict() const { return code_ == Code::kConflict; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }

  // "InvalidArgument: <message>"; "OK" when ok().
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context + ": "`, keeping the code.
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

inline std::string Status::ToString() const {
  switch (code_) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "InvalidArgument: " + message_;
    case Code::kNotFound: return "NotFound: " + message_;
    case Code::kConflict: return "Conflict: " + message_;
    case Code::kUnavailable: return "Unavailable: " + message_;
    case Code::kIoError: return "IoError: " + message_;
    case Code::kInternal: return "Internal: " + message_;
  }
  return "Unknown: " + message_;
}

// Either a T or a non-OK Status. Accessing value() of an error Result is a programming error (asserted).
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor): return-by-value ergonomics
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!status_.ok() && "Result constructed from OK status without a value");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T& value() & {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace tessera

#endif  // TESSERA_BASE_STATUS_H_
