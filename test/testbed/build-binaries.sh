#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy into a versioned cache directory.
# Usage: build-binaries.sh <kubernetes version> <etcd version> <output dir>
# Test-only build: the binaries never enter the repository.
set -euo pipefail

kube_version=$1
etcd_version=$2
out=$3

command -v go >/dev/null || { echo "testbed: Go is not installed; install Go 1.24+ (https://go.dev/dl) or set KUBEBUILDER_ASSETS to a folder holding kube-apiserver and etcd" >&2; exit 3; }

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build_kube() {
  local dir=$work/kube minor=${kube_version#v1.}
  local staging_version=v0.$minor
  mkdir -p "$dir"
  # The release's go.mod replaces its staging modules with ./staging paths; a dependency's replaces
  # do not apply, so map each one to its published v0.X.Y.
  local upstream_mod
  upstream_mod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$kube_version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  local godebug
  godebug=$(grep -m1 '^godebug ' "$upstream_mod" || true)
  {
    echo "module identity-relay.dev/testbed/kube"
    echo "go $(go env GOVERSION | sed 's/^go//')"
    [ -n "$godebug" ] && echo "$godebug"
    echo "require k8s.io/kubernetes $kube_version"
    echo "replace ("
    grep -E '^\s+k8s\.io/[a-z0-9-]+ => \./staging/' "$upstream_mod" | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
    echo "tool k8s.io/kubernetes/cmd/kube-apiserver"
  } > "$dir/go.mod"
  (cd "$dir" && go mod tidy >/dev/null && \
    go build -trimpath -o "$out/kube-apiserver" \
      -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*}" \
      k8s.io/kubernetes/cmd/kube-apiserver)
}

build_etcd() {
  local dir=$work/etcd
  mkdir -p "$dir"
  {
    echo "module identity-relay.dev/testbed/etcd"
    echo "go $(go env GOVERSION | sed 's/^go//')"
    echo "require go.etcd.io/etcd/server/v3 $etcd_version"
    echo "tool go.etcd.io/etcd/server/v3"
  } > "$dir/go.mod"
  (cd "$dir" && go mod tidy >/dev/null && go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
}

[ -x "$out/etcd" ] || { echo "testbed: building etcd $etcd_version (first run only)" >&2; build_etcd; }
[ -x "$out/kube-apiserver" ] || { echo "testbed: building kube-apiserver $kube_version (first run only, several minutes)" >&2; build_kube; }
