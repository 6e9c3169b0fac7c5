package resources_test

import (
	"testing"

	"github.com/orbitmq/orbit/controlplane/resources"
	"github.com/orbitmq/orbit/dataplane/admin/adminpb"
	"github.com/orbitmq/orbit/dataplane/nodetest"
)

// BenchmarkNodeRead is one admin read as a REST call makes it: with a
// connection per call (resources.Connect) and with a shared one (Pool).
func BenchmarkNodeRead(b *testing.B) {
	n := nodetest.Start(b)
	pool := resources.NewPool(resources.Connect, 0)
	b.Cleanup(func() { _ = pool.Close() })
	for _, bc := range []struct {
		name    string
		connect resources.Connector
	}{{"dial-per-call", resources.Connect}, {"pooled", pool.Connect}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				node, err := bc.connect(n.AdminAddr(), nodetest.Token)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := node.ListGroups(b.Context(), &adminpb.ListGroupsRequest{}); err != nil {
					b.Fatal(err)
				}
				_ = node.Close()
			}
		})
	}
}
