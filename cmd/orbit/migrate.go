package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/orbitmq/orbit/migrations"
)

func newMigrateCmd() *cobra.Command {
	var dataDir, databaseURL string
	var lf logFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the control-plane database schema up to date",
		Long: `Apply every pending schema migration and print the resulting version.
orbit serve does this at start as well; run it on its own before a rolling upgrade.
Running it concurrently from several machines is safe.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := lf.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			db, err := openDatabase(cmd.Context(), databaseURL, dataDir, log)
			if err != nil {
				return err
			}
			if sqlDB, err := db.DB(); err == nil {
				defer sqlDB.Close()
			}
			v, err := migrations.Version(cmd.Context(), db)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s database at schema version %d (latest %d)\n", migrations.Dialect(db), v, migrations.Latest())
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "./orbit-data", "directory of the embedded SQLite database")
	cmd.Flags().StringVar(&databaseURL, "database-url", "", "postgres:// URL to migrate PostgreSQL instead of embedded SQLite")
	lf.register(cmd)
	bindEnv(cmd)
	return cmd
}
