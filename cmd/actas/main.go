// Command actas is the Actas server and its tools: serve, shell and org.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "actas",
		Short:         "Actas: scoped, auditable mailbox impersonation for service applications (EWS, Exchange RBAC)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCmd(), shellCmd(), orgCmd(), benchCmd())
	root.AddCommand(checkCmd())
	if err := root.Execute(); err != nil {
		if e, ok := err.(exitError); ok {
			os.Exit(e.code)
		}
		fmt.Fprintln(os.Stderr, "actas:", err)
		os.Exit(2)
	}
}

// exitError ends the program with a status and no further message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
