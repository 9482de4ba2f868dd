#!/usr/bin/env bash
# Kubernetes interop: the test API server and Warren's k8s:// backend driven by kubectl and by the
# official Python client (Tests/WarrenKubernetesTests/KubernetesClientInteropTests.swift).
#   - kubectl from Debian's kubernetes-client (fetched with apt-get download and unpacked here, as
#     it would conflict with another kubectl package), and the machine's own kubectl if it has one;
#   - the Python client's watch.Watch() and create (Interop/k8s/python_client.py);
#   - deploy/kubernetes/*.yaml read into the Python client's models of the API types and written
#     back: unknown fields, wrong types and missing required fields fail (manifest_schema.py).
# Usage: run.sh PYTHON   (PYTHON has the kubernetes package; run from a built checkout)
set -uo pipefail
python=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$root/.build-ci/k8s
passed=0 failed=0
mkdir -p "$work"

kubectls=()
if [ ! -x "$work/debian/usr/bin/kubectl" ]; then
  (cd "$work" && rm -f kubernetes-client_*.deb && apt-get download -qq kubernetes-client 2>/dev/null &&
    dpkg-deb -x kubernetes-client_*.deb debian) || echo "could not fetch Debian's kubernetes-client"
fi
[ -x "$work/debian/usr/bin/kubectl" ] && kubectls+=("$work/debian/usr/bin/kubectl")
system=$(command -v kubectl || true)
[ -n "$system" ] && kubectls+=("$system")
[ ${#kubectls[@]} -gt 0 ] || { echo "k8s-interop: 0 passed, 1 failed (no kubectl)"; exit 1; }

run() { # label filter env...
  local label=$1 filter=$2; shift 2
  (cd "$root" && env "$@" timeout 300 swift test --skip-build --filter "$filter" 2>&1 | grep -E "✔ Test |✘|Expectation|Test run with")
  if [ "${PIPESTATUS[0]}" -eq 0 ]; then
    passed=$((passed + 1)); echo "PASS: $label"
  else
    failed=$((failed + 1)); echo "FAIL: $label"
  fi
}

for kubectl in "${kubectls[@]}"; do
  version=$("$kubectl" version --client 2>/dev/null | grep -oE 'v[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)
  run "kubectl $version ($kubectl)" KubectlInteropTests WARREN_KUBECTL="$kubectl"
done
run "Python client $("$python" -c 'import kubernetes; print(kubernetes.__version__)')" PythonClientInteropTests WARREN_K8S_PYTHON="$python"
# The manifests in deploy/kubernetes, read into the API's own types by the Python client's models.
if "$python" "$here/manifest_schema.py" "$root"/deploy/kubernetes/*.yaml; then
  passed=$((passed + 1)); echo "PASS: deploy/kubernetes/*.yaml against the Kubernetes API types"
else
  failed=$((failed + 1)); echo "FAIL: deploy/kubernetes/*.yaml against the Kubernetes API types"
fi
echo "k8s-interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
