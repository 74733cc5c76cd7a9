// SPDX-License-Identifier: Apache-2.0
//go:build tools

// Pins the older API server the compatibility run uses (make test-compat).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
