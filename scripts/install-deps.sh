#!/usr/bin/env bash
# Installs every Debian 12 package Tessera's build, tests, fuzzers, benchmarks and chart checks need.
# Idempotent; run as root. Skips apt entirely when everything is already installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  # HTTP server, Kubernetes client, JSON
  libboost-dev libboost-system-dev libcpprest-dev libssl-dev rapidjson-dev libyaml-cpp-dev
  # (libyaml-cpp-dev: kubeconfig files and the CRD schema are YAML)
  # hardware discovery
  libhwloc-dev hwloc
  # metrics, flags, logs
  prometheus-cpp-dev libgflags-dev libspdlog-dev libfmt-dev
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  # fuzzers (libFuzzer ships with clang's runtime) and sanitizers
  clang libclang-rt-14-dev llvm
  # simulator plots
  gnuplot-nox
  # chart checks (helm/kubectl come from npm, see shared/tools/get-helm-kubectl.sh)
  unzip
  # end-to-end tests: the control plane is built from Debian's kubernetes source with Go (tests/e2e/run.sh)
  curl procps golang-go bc openssl python3
)

missing=()
# npm: Debian's package conflicts with a nodejs that already ships npm, so only ask for it when absent.
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(npm); fi
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
