package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/orbitmq/orbit/controlplane/api"
)

// newOpenAPICmd prints the REST API's OpenAPI document, the same one served at
// /api/v1/openapi.json; `make gen` feeds it to the web console's type generator.
func newOpenAPICmd() *cobra.Command {
	return &cobra.Command{
		Use:    "openapi",
		Short:  "Print the REST API's OpenAPI document",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			doc, err := json.MarshalIndent(api.New(api.Config{Version: "v1"}, api.Deps{}).OpenAPI(), "", "  ")
			if err != nil {
				return fmt.Errorf("render openapi: %w", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), string(doc))
			return err
		},
	}
}
