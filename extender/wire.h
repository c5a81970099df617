// The extender's wire codec: kube-scheduler's ExtenderArgs, ExtenderBindingArgs and ExtenderPreemptionArgs in, its
// ExtenderFilterResult, HostPriorityList, ExtenderBindingResult and ExtenderPreemptionResult out, as the
// v1.20 extender client sends and reads them (keys matched case-insensitively, as Go's encoding/json does).
// Answers are written by hand where they list 5,000 node names: rapidjson's writer checks every character of
// names that need no escaping.
#ifndef TESSERA_EXTENDER_WIRE_H_
#define TESSERA_EXTENDER_WIRE_H_

#include <rapidjson/document.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::extender {

struct Answer {
  int status = 200;
  std::string body;
};

// `key` in a JSON object, matched case-insensitively; nullptr when absent or null.
const rapidjson::Value* MemberCi(const rapidjson::Value& obj, const char* key);
// `s` as the inside of a JSON string (without the quotes).
std::string Escape(const std::string& s);
// Appends `s` as a JSON string; names and most reasons need no escaping and are copied as they are.
void AppendJsonString(std::string* out, std::string_view s);

// 400 with {"Error": ...}: the body is not what the verb takes.
Answer BadRequest(const Status& s);
// 200 with {"Error": ...}: the verb's own failure, as kube-scheduler expects it (bind, preempt).
Answer VerbError(const std::string& message);
Answer VerbOk();

// A node list as JSON strings, comma-separated, written once: answers copy runs of it. `end[i]` is the offset just
// past name i.
struct QuotedNames {
  std::string text;
  std::vector<size_t> end;
  size_t begin(size_t i) const { return i == 0 ? 0 : end[i - 1] + 1; }
  static QuotedNames Of(const std::vector<std::string_view>& names);
};

// ExtenderArgs (filter and prioritize).
struct ExtenderArgs {
  const rapidjson::Value* pod = nullptr;
  std::vector<std::string_view> names;           // into the parsed request
  const rapidjson::Value* node_items = nullptr;  // full-nodes mode: the items to echo back
  bool node_cache = true;                        // node-names mode (nodeCacheCapable)
};
// Parses `body` in place into `doc`; `args` points into it.
Status ParseExtenderArgs(std::string* body, rapidjson::Document* doc, ExtenderArgs* args);

// ExtenderFilterResult: the feasible nodes (names, or in full-nodes mode the Node objects echoed unchanged), the
// others with their reason under FailedNodes or FailedAndUnresolvableNodes. Per node: feasible, unresolvable.
std::string WriteFilterAnswer(const ExtenderArgs& args, const QuotedNames& quoted,
                              const std::vector<uint8_t>& feasible, const std::vector<uint8_t>& unresolvable,
                              const std::vector<std::string>& reason);
// HostPriorityList: the nodes scored above the lowest score, each with its score minus the lowest (0..10), in
// list order. kube-scheduler adds an extender's score to each host it lists and nothing to the others
// (prioritizeNodes in pkg/scheduler/core/generic_scheduler.go, v1.20; the same in later releases), so shifting
// every score by the same amount changes no ranking, and the hosts left out are the ones it would add 0 to. A
// pod every node scores alike gets `[]`: kube-scheduler decodes nothing, and 5,000 entries are not written.
std::string WritePrioritizeAnswer(const QuotedNames& quoted, const std::vector<int64_t>& scores);

// ExtenderBindingArgs.
struct BindingArgs {
  std::string pod_name, pod_namespace, pod_uid, node;
};
Result<BindingArgs> ParseBindingArgs(std::string_view body);

// ExtenderPreemptionArgs: the pod and, per node, the victims' UIDs (meta victims or full pods) and PDB violations.
struct PreemptionArgs {
  const rapidjson::Value* pod = nullptr;  // into `doc`
  std::map<std::string, std::vector<std::string>> victims;
  std::map<std::string, int64_t> pdb_violations;
};
Status ParsePreemptionArgs(std::string_view body, rapidjson::Document* doc, PreemptionArgs* args);
// ExtenderPreemptionResult for the nodes kept (meta victims).
std::string WritePreemptionAnswer(const PreemptionArgs& args, const std::vector<std::string>& kept_nodes);

}  // namespace tessera::extender

#endif  // TESSERA_EXTENDER_WIRE_H_
