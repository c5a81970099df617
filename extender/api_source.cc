#include "extender/api_source.h"

#include "crd/nrt.h"

namespace tessera::extender {

ApiSource::ApiSource(kube::ClusterConfig config, ExtenderService* service, kube::ListWatchOptions options,
                     bool watch_nrts) {
  auto add = [&](const char* path, ExtenderService::Kind kind, kube::ListWatchOptions o) {
    kube::ListWatchHandlers h;
    h.on_replace = [service, kind](const std::vector<std::string>& items) { service->Replace(kind, items); };
    h.on_event = [service, kind](kube::WatchEventType type, const std::string& object) {
      service->Apply(kind, type == kube::WatchEventType::kDeleted, object);
    };
    informers_.push_back(std::make_unique<kube::ListWatch>(config, path, std::move(h), o));
  };
  add(kNodesPath, ExtenderService::Kind::kNode, options);
  add(kCnrsPath, ExtenderService::Kind::kCnr, options);
  add(kPodsPath, ExtenderService::Kind::kPod, options);
  if (watch_nrts) {
    // Clusters without NFD or an exporter have no NodeResourceTopology CRD: its absence is an empty list (and
    // checked again later), not an informer that never syncs.
    kube::ListWatchOptions nrt = options;
    nrt.absent_is_empty = true;
    add(crd::kNrtCollectionPath, ExtenderService::Kind::kNrt, nrt);
  }
  service->SetReadyProbe([this] { return synced(); });
}

ApiSource::~ApiSource() {
  Stop();
}

void ApiSource::Start() {
  for (auto& i : informers_) i->Start();
}

void ApiSource::Stop() {
  for (auto& i : informers_) i->Stop();
}

bool ApiSource::synced() const {
  for (const auto& i : informers_) {
    if (!i->synced()) return false;
  }
  return true;
}

int ApiSource::restarts() const {
  int n = 0;
  for (const auto& i : informers_) n += i->restarts();
  return n;
}

int ApiSource::resyncs() const {
  int n = 0;
  for (const auto& i : informers_) n += i->resyncs();
  return n;
}

}  // namespace tessera::extender
