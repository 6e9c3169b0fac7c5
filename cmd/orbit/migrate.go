package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/migrations"
)

func newMigrateCmd() *cobra.Command {
	var f dbFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the control-plane database schema up to date",
		Long: `Apply every pending schema migration and print the resulting version.
orbit serve does this at start as well; run it on its own before a rolling upgrade.
Running it concurrently from several machines is safe.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withDB(cmd, func(db *gorm.DB, _ *slog.Logger) error {
				v, err := migrations.Version(cmd.Context(), db)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s database at schema version %d (latest %d)\n", migrations.Dialect(db), v, migrations.Latest())
				return nil
			})
		},
	}
	f.register(cmd)
	return cmd
}
