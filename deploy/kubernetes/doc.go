// Package kubernetes holds the manifests that run `orbit serve` on
// Kubernetes (see README.md). It has no code: its test parses every
// manifest strictly into client-go's typed objects and checks the RBAC Role
// against what controlplane/provision/kube calls.
package kubernetes
