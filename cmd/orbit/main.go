// Command orbit is Orbit's single binary: the control plane (serve), schema
// migrations (migrate) and, later, data-plane nodes and tools. This package
// only parses flags and wires packages together.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "orbit:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "orbit",
		Short:         "Orbit: a self-hosted RocketMQ 5 cloud service",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newNodeCmd(), newBenchCmd(), newMigrateCmd(), newSigningKeyCmd(), newMasterKeyCmd(), newAdminCmd(), newVersionCmd(), newOpenAPICmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "orbit", version)
		},
	}
}

// envName is the environment variable that sets a flag: the prefix plus the
// flag name in upper case with dashes as underscores (--data-dir → ORBIT_DATA_DIR).
func envName(prefix, flag string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// bindEnv binds every flag of cmd to ORBIT_<FLAG>.
func bindEnv(cmd *cobra.Command) { bindEnvPrefix(cmd, "ORBIT_") }

// bindEnvPrefix documents the environment variable of every flag in its help
// text and, before the command runs, applies variables whose flag was not
// given: flags win over the environment, the environment over defaults.
func bindEnvPrefix(cmd *cobra.Command, prefix string) {
	envName := func(flag string) string { return envName(prefix, flag) }
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		f.Usage = fmt.Sprintf("%s (env %s)", f.Usage, envName(f.Name))
	})
	prev := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		var err error
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			v, ok := os.LookupEnv(envName(f.Name))
			if !ok || f.Changed || err != nil {
				return
			}
			if serr := f.Value.Set(v); serr != nil {
				err = fmt.Errorf("environment %s: %w", envName(f.Name), serr)
			}
		})
		if err != nil || prev == nil {
			return err
		}
		return prev(cmd, args)
	}
}
