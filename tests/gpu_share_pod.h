// A pending pod asking one card's `pct` % (namespace ml, UID uid-<name>), as the API server stores it: the
// extender API-mode tests share it.
#ifndef TESSERA_TESTS_GPU_SHARE_POD_H_
#define TESSERA_TESTS_GPU_SHARE_POD_H_

#include <string>

namespace tessera::testing {

inline std::string GpuSharePodJson(const std::string& name, int pct) {
  return R"({"metadata": {"name": ")" + name + R"(", "namespace": "ml", "uid": "uid-)" + name +
         R"("}, "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1", "memory": "1Gi",
         "nvidia.com/gpucores": ")" +
         std::to_string(pct) + R"("}}}]}})";
}

}  // namespace tessera::testing

#endif  // TESSERA_TESTS_GPU_SHARE_POD_H_
