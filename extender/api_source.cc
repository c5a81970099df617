#include "extender/api_source.h"

namespace tessera::extender {

ApiSource::ApiSource(kube::ClusterConfig config, ExtenderService* service, kube::ListWatchOptions options) {
  auto add = [&](const char* path, ExtenderService::Kind kind) {
    kube::ListWatchHandlers h;
    h.on_replace = [service, kind](const std::vector<std::string>& items) { service->Replace(kind, items); };
    h.on_event = [service, kind](kube::WatchEventType type, const std::string& object) {
      service->Apply(kind, type == kube::WatchEventType::kDeleted, object);
    };
    informers_.push_back(std::make_unique<kube::ListWatch>(config, path, std::move(h), options));
  };
  add(kNodesPath, ExtenderService::Kind::kNode);
  add(kCnrsPath, ExtenderService::Kind::kCnr);
  add(kPodsPath, ExtenderService::Kind::kPod);
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
