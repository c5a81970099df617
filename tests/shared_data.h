// Locates the read-only reference data in ../shared. Tests that need it skip, with a message, when it is absent:
// the project must build and its other tests must pass without it.
#ifndef TESSERA_TESTS_SHARED_DATA_H_
#define TESSERA_TESTS_SHARED_DATA_H_

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace tessera::testing {

inline std::string SharedDir() {
  if (const char* env = std::getenv("TESSERA_SHARED_DIR"); env != nullptr && *env != '\0') return env;
  return std::string(TESSERA_SOURCE_DIR) + "/../shared";
}

inline std::string SharedPath(const std::string& relative) {
  return SharedDir() + "/" + relative;
}

inline bool SharedAvailable(const std::string& relative) {
  return std::filesystem::exists(SharedPath(relative));
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace tessera::testing

#define TESSERA_REQUIRE_SHARED(relative)                                              \
  do {                                                                                \
    if (!::tessera::testing::SharedAvailable(relative)) {                             \
      GTEST_SKIP() << "reference data " << ::tessera::testing::SharedPath(relative)   \
                   << " is absent (../shared not beside the project root); skipping"; \
    }                                                                                 \
  } while (0)

#endif  // TESSERA_TESTS_SHARED_DATA_H_
