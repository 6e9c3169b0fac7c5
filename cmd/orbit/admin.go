package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newAdminCmd is the operator's command line over a node's admin service.
func newAdminCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "admin",
		Short: "Manage a data-plane node through its admin service",
		RunE:  func(*cobra.Command, []string) error { return errors.New("orbit admin: not built yet") },
	}
}
