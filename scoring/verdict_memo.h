// Per-node verdicts of one pod shape, reused while neither the node nor the shape changed.
//
// Why: the replicas of a Deployment ask the same, and between two scheduling cycles only the node that took the
// last pod changed; re-running every filter and score on the other 4,999 nodes gives the same answer. The caller
// names the shape (a key covering everything about the pod that decisions depend on, and nothing that identifies
// one replica) and clears the memo whenever it rebuilds the ClusterState (node versions restart there).
//
// The scheduler bypasses the memo where a verdict depends on more than the node and the shape: pods with NUMA
// affinity terms (a required term nothing in the cluster matches yet is satisfied by the first pod of its group),
// and whenever a plugin whose answer is not a function of the node and the pod is active (a GPU policy that draws
// at random).
#ifndef TESSERA_SCORING_VERDICT_MEMO_H_
#define TESSERA_SCORING_VERDICT_MEMO_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scoring/scheduler.h"

namespace tessera::scoring {

class VerdictMemo {
 public:
  // Forgets everything: the cluster was rebuilt.
  void Clear() {
    entries_.clear();
    raw_.clear();
    shape_.clear();
    ++generation_;
  }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  friend class Scheduler;
  struct Entry {
    uint64_t generation = 0;  // 0: empty; else the shape generation it was made for
    uint64_t node_version = 0;
    NodeVerdict verdict;
  };
  // Switches to `shape` (forgetting the previous shape's entries) and sizes the tables for `nodes` nodes and
  // `plugins` score plugins.
  void Begin(std::string_view shape, size_t nodes, size_t plugins) {
    if (shape != shape_ || plugins != plugins_) {
      shape_.assign(shape.data(), shape.size());
      ++generation_;
    }
    plugins_ = plugins;
    if (entries_.size() < nodes) entries_.resize(nodes);
    if (raw_.size() < nodes * plugins) raw_.resize(nodes * plugins);
  }
  // The raw score of each plugin on node `index`: one flat table rather than a vector per entry, so a cold pass
  // writes next to what it wrote for the previous node instead of to a separate allocation per node.
  double* raw(size_t index) { return raw_.data() + index * plugins_; }

  std::string shape_;
  uint64_t generation_ = 1;
  std::vector<Entry> entries_;  // by node index
  std::vector<double> raw_;     // by node index, then score plugin
  size_t plugins_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace tessera::scoring

#endif  // TESSERA_SCORING_VERDICT_MEMO_H_
