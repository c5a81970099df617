#include "reporter/cnr_publisher.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <thread>

#include "crd/cnr_codec.h"
#include "crd/json_fields.h"

namespace tessera::reporter {

using crd::Cnr;

const char* PublishOutcomeName(PublishOutcome outcome) {
  switch (outcome) {
    case PublishOutcome::kCreated: return "created";
    case PublishOutcome::kUpdated: return "updated";
    case PublishOutcome::kHeartbeat: return "heartbeat";
    case PublishOutcome::kUnchanged: return "unchanged";
    case PublishOutcome::kForeignSkipped: return "foreign_skipped";
  }
  return "unknown";
}

Status StatusFromHttp(const std::string& what, const kube::HttpResponse& r) {
  std::string msg = what + ": HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200);
  if (r.status == 409) return Status::Conflict(msg);
  if (r.status == 404) return Status::NotFound(msg);
  if (r.status >= 500 || r.status == 429 || r.status == 0) return Status::Unavailable(msg);
  return Status::InvalidArgument(msg);
}

namespace {

std::string ObjectPath(const std::string& name) {
  return std::string(kCnrCollectionPath) + "/" + name;
}

bool IsSuccess(int status) {
  return status >= 200 && status < 300;
}

// Decodes a reply the API server claims is a CNR; anything else is a garbled reply (transient).
Result<Cnr> DecodeReply(const std::string& what, const kube::HttpResponse& r) {
  Result<Cnr> cnr = crd::DecodeCnr(r.body);
  if (!cnr.ok())
    return Status::Unavailable(what + ": garbled reply from the API server: " + cnr.status().message());
  return cnr;
}

std::string HeartbeatOf(const Cnr& cnr) {
  const crd::Condition* c = cnr.FindCondition(crd::kConditionAgentReady);
  return c == nullptr ? "" : c->last_heartbeat_time;
}

}  // namespace

CnrPublisher::CnrPublisher(kube::KubeApi* client, PublishOptions options)
    : client_(client), options_(std::move(options)) {
  if (!options_.sleep) options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

Result<std::string> CnrPublisher::NodeUid(const std::string& node_name) {
  Result<kube::HttpResponse> r = client_->Get("/api/v1/nodes/" + node_name);
  if (!r.ok()) return r.status();
  if (!IsSuccess(r->status)) return StatusFromHttp("GET node " + node_name, *r);
  rapidjson::Document doc;
  if (Status s = crd::ParseJson(r->body, &doc); !s.ok())
    return Status::Unavailable("node " + node_name + ": " + s.message());
  std::string uid;
  const rapidjson::Value* meta = crd::Member(doc, "metadata");
  if (meta == nullptr || !crd::ReadString(*meta, "uid", "metadata", &uid).ok() || uid.empty()) {
    return Status::Unavailable("node " + node_name + ": reply has no metadata.uid");
  }
  return uid;
}

Result<PublishOutcome> RetryOnConflict(const PublishOptions& options,
                                       const std::function<Result<PublishOutcome>()>& attempt) {
  Status last;
  for (int i = 0; i < options.max_attempts; ++i) {
    Result<PublishOutcome> r = attempt();
    if (r.ok() || !r.status().IsConflict()) return r;
    last = r.status();
    if (i + 1 < options.max_attempts) {
      auto delay = options.backoff_initial * (1LL << std::min(i, 20));
      const auto sleep =
          options.sleep ? options.sleep : [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
      sleep(std::min<std::chrono::milliseconds>(delay, options.backoff_max));
    }
  }
  return last.WithContext("gave up after " + std::to_string(options.max_attempts) + " conflicting writes");
}

Result<PublishOutcome> CnrPublisher::Publish(const Cnr& desired) {
  return RetryOnConflict(options_, [&] { return TryOnce(desired); });
}

Result<PublishOutcome> CnrPublisher::TryOnce(const Cnr& desired) {
  const std::string name = desired.metadata.name;
  const std::string path = ObjectPath(name);
  Result<kube::HttpResponse> got = client_->Get(path);
  if (!got.ok()) return got.status();

  if (got->status == 404) {
    Result<kube::HttpResponse> created = client_->Post(kCnrCollectionPath, crd::EncodeCnr(desired));
    if (!created.ok()) return created.status();
    if (!IsSuccess(created->status)) return StatusFromHttp("POST CNR " + name, *created);
    Result<Cnr> stored = DecodeReply("POST CNR " + name, *created);
    if (!stored.ok()) return stored.status();
    Result<std::string> body = crd::MergeForUpdate(created->body, desired);
    if (!body.ok()) return body.status();
    Result<kube::HttpResponse> st = client_->Put(path + "/status", *body);
    if (!st.ok()) return st.status();
    if (!IsSuccess(st->status)) return StatusFromHttp("PUT CNR status " + name, *st);
    return PublishOutcome::kCreated;
  }
  if (!IsSuccess(got->status)) return StatusFromHttp("GET CNR " + name, *got);
  Result<Cnr> existing = DecodeReply("GET CNR " + name, *got);
  if (!existing.ok()) return existing.status();

  auto label = existing->metadata.labels.find(crd::kManagedByLabel);
  const bool ours = label != existing->metadata.labels.end() && label->second == crd::kManagedByReporter;
  if (!ours && !options_.take_over) return PublishOutcome::kForeignSkipped;

  // Compare everything but the heartbeat: rewrite the object only when its content changed.
  Cnr same_heartbeat = desired;
  for (crd::Condition& c : same_heartbeat.status.conditions) {
    if (c.type == crd::kConditionAgentReady) c.last_heartbeat_time = HeartbeatOf(*existing);
  }
  Result<std::string> canonical_existing = crd::MergeForUpdate(got->body, *existing);
  Result<std::string> candidate = crd::MergeForUpdate(got->body, same_heartbeat);
  if (!canonical_existing.ok()) return canonical_existing.status();
  if (!candidate.ok()) return candidate.status();
  const bool ready_already = existing->FindCondition(crd::kConditionAgentReady) != nullptr;

  if (*candidate == *canonical_existing && ready_already) {
    if (HeartbeatOf(desired) == HeartbeatOf(*existing)) return PublishOutcome::kUnchanged;
    // Merge patch replaces whole lists: send every condition, ours refreshed and the others as stored.
    rapidjson::Document patch(rapidjson::kObjectType);
    auto& a = patch.GetAllocator();
    rapidjson::Value meta(rapidjson::kObjectType);
    meta.AddMember("resourceVersion", rapidjson::Value(existing->metadata.resource_version.c_str(), a), a);
    patch.AddMember("metadata", meta, a);
    rapidjson::Value conds(rapidjson::kArrayType);
    auto add = [&](const crd::Condition& c) {
      rapidjson::Value o(rapidjson::kObjectType);
      o.AddMember("type", rapidjson::Value(c.type.c_str(), a), a);
      o.AddMember("status", rapidjson::Value(c.status.c_str(), a), a);
      if (!c.last_heartbeat_time.empty()) {
        o.AddMember("lastHeartbeatTime", rapidjson::Value(c.last_heartbeat_time.c_str(), a), a);
      }
      if (!c.reason.empty()) o.AddMember("reason", rapidjson::Value(c.reason.c_str(), a), a);
      if (!c.message.empty()) o.AddMember("message", rapidjson::Value(c.message.c_str(), a), a);
      conds.PushBack(o, a);
    };
    for (const crd::Condition& c : desired.status.conditions) add(c);
    for (const crd::Condition& c : existing->status.conditions) {
      if (desired.FindCondition(c.type) == nullptr) add(c);
    }
    rapidjson::Value status(rapidjson::kObjectType);
    status.AddMember("conditions", conds, a);
    patch.AddMember("status", status, a);
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    patch.Accept(w);
    Result<kube::HttpResponse> r = client_->MergePatch(path + "/status", buf.GetString());
    if (!r.ok()) return r.status();
    if (!IsSuccess(r->status)) return StatusFromHttp("PATCH CNR status " + name, *r);
    return PublishOutcome::kHeartbeat;
  }

  Result<std::string> body = crd::MergeForUpdate(got->body, desired);
  if (!body.ok()) return body.status();
  Result<kube::HttpResponse> put = client_->Put(path, *body);
  if (!put.ok()) return put.status();
  if (!IsSuccess(put->status)) return StatusFromHttp("PUT CNR " + name, *put);
  if (Result<Cnr> check = DecodeReply("PUT CNR " + name, *put); !check.ok()) return check.status();
  // The status write carries the resourceVersion the object write produced.
  Result<std::string> status_body = crd::MergeForUpdate(put->body, desired);
  if (!status_body.ok()) return status_body.status();
  Result<kube::HttpResponse> st = client_->Put(path + "/status", *status_body);
  if (!st.ok()) return st.status();
  if (!IsSuccess(st->status)) return StatusFromHttp("PUT CNR status " + name, *st);
  return PublishOutcome::kUpdated;
}

}  // namespace tessera::reporter
