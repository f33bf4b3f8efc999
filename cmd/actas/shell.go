package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/actasmail/actas/internal/adminapi"
	"github.com/actasmail/actas/internal/datadir"
	"github.com/actasmail/actas/internal/shell"
)

func shellCmd() *cobra.Command {
	var data, serverURL, user, passwordFile, command string
	var insecure bool
	c := &cobra.Command{
		Use:   "shell [script.ps1]",
		Short: "Exchange Management Shell compatible interpreter",
		Long: `Run Exchange Management Shell commands against an Actas server.

With --data DIR it connects to the server running on that data directory as
its administrator. With --server URL --user UPN --password-file F it connects
anywhere. The script comes from -c, a file argument, or standard input; on a
terminal it opens an interactive prompt. Exit status 1 if any command failed.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := connect(data, serverURL, user, passwordFile, insecure)
			if err != nil {
				return err
			}
			sh := shell.New(client, os.Stdout, os.Stderr)
			ctx := cmd.Context()
			var ok bool
			switch {
			case command != "":
				ok = sh.Run(ctx, command)
			case len(args) == 1:
				b, err := os.ReadFile(args[0])
				if err != nil {
					return err
				}
				ok = sh.Run(ctx, string(b))
			case term.IsTerminal(int(os.Stdin.Fd())):
				ok = sh.Interactive(ctx, os.Stdin, os.Stdout)
			default:
				b, err := io.ReadAll(os.Stdin)
				if err != nil {
					return err
				}
				ok = sh.Run(ctx, string(b))
			}
			if !ok {
				return exitError{code: 1}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&data, "data", "", "data directory of a running local server (connect as its administrator)")
	f.StringVar(&serverURL, "server", "", "server URL, e.g. https://actas.example.com")
	f.StringVar(&user, "user", "", "user principal name to sign in as")
	f.StringVar(&passwordFile, "password-file", "", "file holding the password")
	f.StringVarP(&command, "command", "c", "", "script text to run")
	f.BoolVar(&insecure, "insecure", false, "do not verify the server's TLS certificate")
	return c
}

type backend struct{ *adminapi.Client }

func (b backend) Cmdlets(ctx context.Context) ([]adminapi.CmdletInfo, error) {
	return b.Client.Cmdlets(ctx)
}
func (b backend) Invoke(ctx context.Context, r adminapi.Request) (*adminapi.Response, error) {
	return b.Client.Invoke(ctx, r)
}

func connect(data, serverURL, user, passwordFile string, insecure bool) (shell.Backend, error) {
	if serverURL == "" {
		if data == "" {
			data = "./actas-data"
		}
		conn, err := datadir.ReadConnection(data)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("no Actas server is running on %s (start one with: actas serve --data %s)", data, data)
			}
			return nil, err
		}
		serverURL = conn.URL
		insecure = insecure || conn.Insecure
		if user == "" {
			user = conn.Admin
			if passwordFile == "" {
				passwordFile = filepath.Join(data, datadir.AdminPasswordFile)
			}
		}
	}
	if user == "" || passwordFile == "" {
		return nil, errors.New("--server needs --user and --password-file")
	}
	pw, err := datadir.ReadSecret(passwordFile)
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	return backend{adminapi.NewClient(serverURL, user, pw, insecure)}, nil
}
