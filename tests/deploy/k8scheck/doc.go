// Package k8scheck decodes the charts' rendered manifests strictly into the
// Kubernetes API types and checks what matters (tests/deploy/k8scheck.sh).
package k8scheck
