# Sourced by tests/e2e/run.sh and bench/scale/run.sh: the kube-scheduler profile that calls tessera-extender, as
# the chart configures it (the extender decides the device resources kube-scheduler cannot place, and binds).
#   tessera_profile SCHEDULER_NAME EXTENDER_URL   prints the `profiles:` and `extenders:` sections
tessera_profile() {
  cat <<YAML
profiles:
  - schedulerName: $1
    pluginConfig:
      - name: NodeResourcesFit
        args:
          ignoredResources: [nvidia.com/gpu, nvidia.com/gpucores, nvidia.com/gpumem, resource.katalyst.kubewharf.io/milligpu,
                             tessera.io/rdma, resource.katalyst.kubewharf.io/reclaimed_millicpu,
                             resource.katalyst.kubewharf.io/reclaimed_memory]
extenders:
  - urlPrefix: "$2"
    filterVerb: filter
    prioritizeVerb: prioritize
    bindVerb: bind
    preemptVerb: preempt
    weight: 5
    nodeCacheCapable: true
    httpTimeout: 5s
    ignorable: false
YAML
}
