#include "base/file_text.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tessera {

Result<std::string> ReadFileText(const std::string& path, uint64_t max_bytes) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes) {
    return Status::InvalidArgument(path + ": " + std::to_string(size) + " bytes, more than the " +
                                   std::to_string(max_bytes) + " accepted");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

}  // namespace tessera
