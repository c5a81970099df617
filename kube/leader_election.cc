#include "kube/leader_election.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "kube/api_json.h"
#include "kube/time_format.h"

namespace tessera::kube {
namespace {

std::string LeaseBody(const LeaderElectionOptions& o, const std::string& resource_version,
                      const std::string& acquire, const std::string& renew, int transitions) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.StartObject();
  w.Key("apiVersion");
  w.String("coordination.k8s.io/v1");
  w.Key("kind");
  w.String("Lease");
  w.Key("metadata");
  w.StartObject();
  w.Key("name");
  w.String(o.lease_name.c_str());
  w.Key("namespace");
  w.String(o.lease_namespace.c_str());
  if (!resource_version.empty()) {
    w.Key("resourceVersion");
    w.String(resource_version.c_str());
  }
  w.EndObject();
  w.Key("spec");
  w.StartObject();
  w.Key("holderIdentity");
  w.String(o.identity.c_str());
  w.Key("leaseDurationSeconds");
  w.Int(static_cast<int>(o.lease_duration.count()));
  w.Key("acquireTime");
  w.String(acquire.c_str());
  w.Key("renewTime");
  w.String(renew.c_str());
  w.Key("leaseTransitions");
  w.Int(transitions);
  w.EndObject();
  w.EndObject();
  return b.GetString();
}

}  // namespace

Result<LeaseRecord> DecodeLease(std::string_view body) {
  rapidjson::Document d;
  if (!ParseApiJson(body, &d).ok() || !d.IsObject() || !d.HasMember("metadata") || !d["metadata"].IsObject()) {
    return Status::InvalidArgument("lease: not a Lease object");
  }
  auto str = [](const rapidjson::Value& o, const char* k) {
    return o.IsObject() && o.HasMember(k) && o[k].IsString()
               ? std::string(o[k].GetString(), o[k].GetStringLength())
               : std::string();
  };
  auto integer = [](const rapidjson::Value& o, const char* k, int absent) {
    return o.IsObject() && o.HasMember(k) && o[k].IsInt() ? o[k].GetInt() : absent;
  };
  LeaseRecord r;
  r.resource_version = str(d["metadata"], "resourceVersion");
  if (d.HasMember("spec")) {
    const rapidjson::Value& spec = d["spec"];
    r.holder = str(spec, "holderIdentity");
    r.acquire_time = str(spec, "acquireTime");
    r.renew_time = str(spec, "renewTime");
    r.duration_seconds = integer(spec, "leaseDurationSeconds", -1);
    r.transitions = integer(spec, "leaseTransitions", 0);
  }
  return r;
}

LeaderElector::LeaderElector(KubeApi* client, LeaderElectionOptions options)
    : client_(client), options_(std::move(options)) {}

LeaderElector::~LeaderElector() {
  Stop();
}

std::string LeaderElector::LeasePath() const {
  return "/apis/coordination.k8s.io/v1/namespaces/" + options_.lease_namespace + "/leases";
}

std::string LeaderElector::holder() const {
  std::lock_guard<std::mutex> lock(mu_);
  return holder_;
}

Result<bool> LeaderElector::TryAcquireOrRenew(std::chrono::system_clock::time_point now) {
  const std::string path = LeasePath() + "/" + options_.lease_name;
  Result<HttpResponse> got = client_->Get(path);
  if (!got.ok()) return got.status();
  const std::string stamp = FormatMicroTime(now);
  if (got->status == 404) {
    Result<HttpResponse> created = client_->Post(LeasePath(), LeaseBody(options_, "", stamp, stamp, 0));
    if (!created.ok()) return created.status();
    const bool won = created->status == 201 || created->status == 200;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (won) holder_ = options_.identity;
    }
    return won;  // 409: someone created it first; observe next round
  }
  if (got->status != 200) return Status::Unavailable("lease: HTTP " + std::to_string(got->status));
  Result<LeaseRecord> lease = DecodeLease(got->body);
  if (!lease.ok()) return Status::Unavailable("lease: garbled reply");
  const std::string& holder = lease->holder;
  const std::string& rv = lease->resource_version;
  const int duration =
      lease->duration_seconds >= 0 ? lease->duration_seconds : static_cast<int>(options_.lease_duration.count());
  const int transitions = lease->transitions;
  std::chrono::system_clock::time_point renewed;
  const bool expired =
      !ParseRfc3339(lease->renew_time, &renewed) || renewed + std::chrono::seconds(duration) < now;
  if (holder != options_.identity && !holder.empty() && !expired) {
    std::lock_guard<std::mutex> lock(mu_);
    holder_ = holder;
    return false;
  }
  const bool ours = holder == options_.identity;
  const std::string acquire = ours ? lease->acquire_time : stamp;
  Result<HttpResponse> put = client_->Put(path, LeaseBody(options_, rv, acquire.empty() ? stamp : acquire, stamp,
                                                          ours ? transitions : transitions + 1));
  if (!put.ok()) return put.status();
  const bool won = put->status == 200;  // 409: another replica renewed or took it first
  std::lock_guard<std::mutex> lock(mu_);
  if (won) holder_ = options_.identity;
  return won;
}

void LeaderElector::Start(std::function<void()> on_promoted) {
  thread_ = std::thread([this, on_promoted] {
    while (!stop_.load()) {
      Result<bool> r = TryAcquireOrRenew(options_.clock->Now());
      const bool lead = r.ok() && *r;
      if (lead && !leader_.load() && on_promoted) on_promoted();
      leader_.store(lead);  // an error while leading steps down: better no leader than two
      const auto until = std::chrono::steady_clock::now() + options_.renew_period;
      while (!stop_.load() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    leader_.store(false);
  });
}

void LeaderElector::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace tessera::kube
