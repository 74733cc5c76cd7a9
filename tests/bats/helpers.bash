# SPDX-License-Identifier: Apache-2.0
# Shared by every bats file: the kx binary under test (KX_BIN, default
# build/kx), kubectl as the reference (KUBECTL, default the pinned kubectl that
# tests/cluster/build-binaries builds: the API server's version), bats-support/
# bats-assert, and the test cluster's environment when it is up.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

KX_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
KX_BIN=${KX_BIN:-$KX_ROOT/build/kx}
# shellcheck source=../cluster/versions
. "$KX_ROOT/tests/cluster/versions"
KUBECTL=${KUBECTL:-$KX_PINNED_KUBECTL}
KX_CLUSTER_STATE=${KX_CLUSTER_STATE:-/tmp/kx-cluster-$(id -u)}
if [ -z "${KUBECONFIG:-}" ] && [ -f "$KX_CLUSTER_STATE/env" ]; then
	# shellcheck disable=SC1091
	. "$KX_CLUSTER_STATE/env"
fi

# Completion answers with what it has at its budget (0.8 s from its start): a test
# of the live candidates must not depend on the machine's speed, so it gets a long
# one; the tests of the budget itself set KX_COMPLETE_TIMEOUT or unset it.
export KX_COMPLETE_TIMEOUT=${KX_COMPLETE_TIMEOUT:-20s}

# Every kx run in a test is bounded in time: a hang is a failure, not a stuck suite.
kx() { timeout "${KX_TIMEOUT:-30}" "$KX_BIN" "$@"; }
# kubectl keeps its own discovery cache (its default, warmed by tests/cluster/up) even
# when a test points kx's at a fresh directory with KUBECACHEDIR: a cold cache makes
# kubectl log discovery errors that are not what the test compares.
kubectl() { timeout "${KX_TIMEOUT:-30}" env -u KUBECACHEDIR "$KUBECTL" "$@"; }

need_cluster() {
	[ -n "${KUBECONFIG:-}" ] && [ -f "$KUBECONFIG" ] || skip "test cluster is not up (tests/cluster/up)"
}
