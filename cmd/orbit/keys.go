package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"gorm.io/gorm"

	"github.com/orbitmq/orbit/iam"
	"github.com/orbitmq/orbit/iam/iamdb"
)

// newSigningKeyCmd lets an operator rotate the JWT signing key at once (after
// a suspected leak, say); orbit serve also rotates it by age on start.
func newSigningKeyCmd() *cobra.Command {
	root := &cobra.Command{Use: "signing-key", Short: "Manage the key that signs session tokens"}
	var f dbFlags
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new session signing key the active one",
		Long: `Create a new signing key for session access tokens and make it the one that signs.
Tokens signed by the previous key stay valid until they expire (minutes), so
nobody is logged out; refresh tokens are unaffected. Running replicas pick the
new key up within a minute.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withDB(cmd, func(db *gorm.DB, log *slog.Logger) error {
				kid, err := iam.NewService(iamdb.New(db), iam.DefaultConfig(), log).RotateSigningKey(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "new signing key %s is active\n", kid)
				return nil
			})
		},
	}
	f.register(rotate)
	root.AddCommand(rotate)
	return root
}
