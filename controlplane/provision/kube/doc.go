// Package kube is the Kubernetes provisioner: it runs each instance's node
// as a one-replica StatefulSet with a PersistentVolumeClaim for its data, a
// Secret holding the admin token, and two Services (a headless one that
// governs the StatefulSet and carries the admin port, and a client one for
// RocketMQ clients), all in one configured namespace and built with
// client-go's typed objects.
//
// The provisioner keeps no state the reconciler depends on: everything it
// reports is read back from the cluster, so a restarted `orbit serve` adopts
// what is already running. The objects it owns are found by the labels
// app.kubernetes.io/name=orbit-node and app.kubernetes.io/managed-by=orbit;
// app.kubernetes.io/instance carries the instance ID.
//
// RequiredPermissions lists every API call the provisioner makes; the RBAC
// Role under deploy/kubernetes is tested against it.
//
// May import: controlplane/provision, k8s.io/{api,apimachinery,client-go}.
package kube
