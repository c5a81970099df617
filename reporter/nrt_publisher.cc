#include "reporter/nrt_publisher.h"

#include "crd/nrt_codec.h"

namespace tessera::reporter {

Result<PublishOutcome> NrtPublisher::Publish(const crd::Nrt& desired) {
  return RetryOnConflict(options_, [&] { return TryOnce(desired); });
}

Result<PublishOutcome> NrtPublisher::TryOnce(const crd::Nrt& desired) {
  const std::string& name = desired.metadata.name;
  const std::string path = std::string(crd::kNrtCollectionPath) + "/" + name;
  Result<kube::HttpResponse> got = client_->Get(path);
  if (!got.ok()) return got.status();
  if (got->status == 404) {
    Result<kube::HttpResponse> created = client_->Post(crd::kNrtCollectionPath, crd::EncodeNrt(desired));
    if (!created.ok()) return created.status();
    if (created->status < 200 || created->status >= 300) return StatusFromHttp("POST NRT " + name, *created);
    return PublishOutcome::kCreated;
  }
  if (got->status < 200 || got->status >= 300) return StatusFromHttp("GET NRT " + name, *got);
  Result<crd::Nrt> existing = crd::DecodeNrt(got->body);
  if (!existing.ok())
    return Status::Unavailable("GET NRT " + name +
                               ": garbled reply from the API server: " + existing.status().message());
  auto label = existing->metadata.labels.find(crd::kManagedByLabel);
  const bool ours = label != existing->metadata.labels.end() && label->second == crd::kManagedByReporter;
  if (!ours && !options_.take_over) return PublishOutcome::kForeignSkipped;
  // The desired content under the stored metadata (resourceVersion: a concurrent writer gets us a 409), with our
  // label and owner.
  crd::Nrt update = desired;
  update.metadata = existing->metadata;
  update.metadata.labels[crd::kManagedByLabel] = crd::kManagedByReporter;
  if (!desired.metadata.owner_references.empty())
    update.metadata.owner_references = desired.metadata.owner_references;
  const std::string body = crd::EncodeNrt(update);
  if (body == crd::EncodeNrt(*existing)) return PublishOutcome::kUnchanged;
  Result<kube::HttpResponse> put = client_->Put(path, body);
  if (!put.ok()) return put.status();
  if (put->status < 200 || put->status >= 300) return StatusFromHttp("PUT NRT " + name, *put);
  return PublishOutcome::kUpdated;
}

}  // namespace tessera::reporter
