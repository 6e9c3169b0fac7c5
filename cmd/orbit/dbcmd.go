package main

import (
	"log/slog"

	"github.com/spf13/cobra"
	"gorm.io/gorm"
)

// dbFlags are the flags of the one-shot commands that work on the
// control-plane database (migrate, signing-key rotate).
type dbFlags struct {
	dataDir, databaseURL string
	log                  logFlags
}

func (f *dbFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "./orbit-data", "directory of the embedded SQLite database")
	cmd.Flags().StringVar(&f.databaseURL, "database-url", "", "postgres:// URL of the control-plane database instead of embedded SQLite")
	f.log.register(cmd)
	bindEnv(cmd)
}

// withDB opens (and migrates) the database, runs fn and closes it.
func (f *dbFlags) withDB(cmd *cobra.Command, fn func(db *gorm.DB, log *slog.Logger) error) error {
	log, err := f.log.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	db, err := openDatabase(cmd.Context(), f.databaseURL, f.dataDir, log)
	if err != nil {
		return err
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	return fn(db, log)
}
