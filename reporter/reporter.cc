#include "reporter/reporter.h"

#include <spdlog/spdlog.h>

#include <ctime>
#include <thread>

#include "crd/nrt_codec.h"
#include "kube/time_format.h"

namespace tessera::reporter {

std::string FormatRfc3339(std::chrono::system_clock::time_point t) {
  return kube::FormatRfc3339(t);
}

Reporter::Reporter(ReporterConfig config, kube::KubeApi* client, std::shared_ptr<prometheus::Registry> registry)
    : config_(std::move(config)),
      publisher_(client, config_.publish),
      nrt_publisher_(client, config_.publish),
      registry_(std::move(registry)) {
  publishes_ = &prometheus::BuildCounter()
                    .Name("tessera_reporter_publishes_total")
                    .Help("CNR publish rounds that succeeded, by outcome")
                    .Register(*registry_);
  failures_ = &prometheus::BuildCounter()
                   .Name("tessera_reporter_publish_failures_total")
                   .Help("CNR publish rounds that failed, by stage")
                   .Register(*registry_);
  foreign_skips_ = &prometheus::BuildCounter()
                        .Name("tessera_reporter_foreign_cnr_skipped_total")
                        .Help("Rounds that left alone a CNR written by another agent (see --take-over)")
                        .Register(*registry_)
                        .Add({});
  last_success_ = &prometheus::BuildGauge()
                       .Name("tessera_reporter_last_success_timestamp_seconds")
                       .Help("Unix time of the last successful publish round")
                       .Register(*registry_)
                       .Add({});
  kubelet_reads_ = &prometheus::BuildCounter()
                        .Name("tessera_reporter_kubelet_config_reads_total")
                        .Help("Reads of the kubelet's configuration by outcome (ok, invalid, unavailable)")
                        .Register(*registry_);
  nrt_publishes_ = &prometheus::BuildCounter()
                        .Name("tessera_reporter_nrt_publishes_total")
                        .Help("NodeResourceTopology publish rounds that succeeded, by outcome (--publish nrt)")
                        .Register(*registry_);
}

Result<crd::Cnr> Reporter::BuildDesired(std::chrono::system_clock::time_point now) {
  Result<topology::DiscoveryResult> discovered = topology::DiscoverTopology(config_.discovery);
  if (!discovered.ok()) return discovered.status().WithContext("discovery");
  crd::CnrBuildOptions build = config_.build;
  if (build.node_uid.empty()) build.node_uid = node_uid_;
  if (config_.kubelet_config) {
    Result<KubeletPolicies> read = config_.kubelet_config->Read();
    Status applied = read.ok() ? ApplyKubeletPolicies(*read, config_.explicit_flags, &build) : read.status();
    if (applied.ok()) {
      last_kubelet_ = *read;
      kubelet_reads_->Add({{"outcome", "ok"}}).Increment();
    } else if (applied.IsInvalidArgument()) {
      kubelet_reads_->Add({{"outcome", "invalid"}}).Increment();
      spdlog::error("{}: {}", config_.kubelet_config->description(), applied.message());
      build.not_ready_reason = "KubeletConfigInvalid";
      build.not_ready_message = applied.message();
    } else {
      kubelet_reads_->Add({{"outcome", "unavailable"}}).Increment();
      spdlog::warn("{}: {}", config_.kubelet_config->description(), applied.message());
      if (last_kubelet_) {
        (void)ApplyKubeletPolicies(*last_kubelet_, config_.explicit_flags, &build);
      } else {
        build.not_ready_reason = "KubeletConfigUnavailable";
        build.not_ready_message = applied.message();
      }
    }
  }
  build.heartbeat_time = FormatRfc3339(now);
  return crd::BuildCnr(discovered->topology, build);
}

Result<PublishOutcome> Reporter::RunOnce() {
  auto fail = [&](const char* stage, const Status& s) -> Result<PublishOutcome> {
    failures_->Add({{"stage", stage}}).Increment();
    spdlog::warn("publish round failed at {}: {}", stage, s.ToString());
    return s;
  };
  if (node_uid_.empty() && config_.build.node_uid.empty()) {
    Result<std::string> uid = publisher_.NodeUid(config_.build.node_name);
    if (!uid.ok()) return fail("node", uid.status());
    node_uid_ = *uid;
  }
  Result<crd::Cnr> desired = BuildDesired(std::chrono::system_clock::now());
  if (!desired.ok()) return fail("build", desired.status());
  std::optional<Result<PublishOutcome>> nrt_outcome;
  if (config_.publish_nrt) {
    const crd::Condition* ready = desired->FindCondition(crd::kConditionAgentReady);
    if (ready != nullptr && ready->status != "True") {
      // An NRT has no condition to say the policies are unknown: keep the last one rather than publish a guess.
      spdlog::warn("NodeResourceTopology {} not updated: {}: {}", config_.build.node_name, ready->reason,
                   ready->message);
    } else {
      nrt_outcome = nrt_publisher_.Publish(crd::NrtFromCnr(*desired));
      if (!nrt_outcome->ok()) {
        (void)fail("publish_nrt", nrt_outcome->status());
      } else {
        nrt_publishes_->Add({{"outcome", PublishOutcomeName(**nrt_outcome)}}).Increment();
        if (**nrt_outcome == PublishOutcome::kForeignSkipped) {
          spdlog::warn("NodeResourceTopology {} belongs to another producer; leaving it alone (use --take-over)",
                       config_.build.node_name);
        }
      }
    }
  }
  if (!config_.publish_cnr) {
    if (!nrt_outcome) return Status::Unavailable("NodeResourceTopology not published (kubelet configuration)");
    if (nrt_outcome->ok() && **nrt_outcome != PublishOutcome::kForeignSkipped) last_success_->SetToCurrentTime();
    return *nrt_outcome;
  }
  Result<PublishOutcome> outcome = publisher_.Publish(*desired);
  if (!outcome.ok()) return fail("publish", outcome.status());
  publishes_->Add({{"outcome", PublishOutcomeName(*outcome)}}).Increment();
  if (*outcome == PublishOutcome::kForeignSkipped) {
    foreign_skips_->Increment();
    spdlog::warn("CNR {} was written by another agent (no {}={} label); leaving it alone (use --take-over)",
                 config_.build.node_name, crd::kManagedByLabel, crd::kManagedByReporter);
  } else {
    last_success_->SetToCurrentTime();
    // Heartbeats are routine: log them only at debug level; creations and content changes at info.
    if (*outcome == PublishOutcome::kHeartbeat || *outcome == PublishOutcome::kUnchanged) {
      spdlog::debug("CNR {}: {}", config_.build.node_name, PublishOutcomeName(*outcome));
    } else {
      spdlog::info("CNR {}: {}", config_.build.node_name, PublishOutcomeName(*outcome));
    }
  }
  if (nrt_outcome && !nrt_outcome->ok()) return nrt_outcome->status().WithContext("NodeResourceTopology");
  return outcome;
}

void Reporter::Run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    (void)RunOnce();
    // Sleep in short slices so SIGTERM ends the process within ~100 ms.
    auto deadline = std::chrono::steady_clock::now() + config_.interval;
    while (!stop.load() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace tessera::reporter
