#!/usr/bin/env bash
# Installs the Debian packages sluice needs to build, test and benchmark, and only those missing.
# Idempotent: when everything is present it does nothing (no apt-get update, no network).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ccache
  libboost1.81-dev libboost-iostreams1.81-dev
  libsimdjson-dev libconcurrentqueue-dev libyaml-cpp-dev libcli11-dev libre2-dev libfmt-dev
  zlib1g-dev libzstd-dev librdkafka-dev libssl-dev tzdata
  libgtest-dev libgmock-dev libbenchmark-dev
  clang lld libclang-rt-14-dev clang-format clang-tidy
  python3 time
  # The e2e tests: PyYAML reads the manifests, the official client's models are the Kubernetes
  # API schemas the manifests and the API-server emulator's pods are checked against.
  python3-yaml python3-kubernetes
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
