package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/actasmail/actas/internal/auth"
	"github.com/actasmail/actas/internal/cmdlet"
	"github.com/actasmail/actas/internal/datadir"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/server"
	"github.com/actasmail/actas/internal/store"
)

func orgCmd() *cobra.Command {
	c := &cobra.Command{Use: "org", Short: "Manage organizations (tenants)"}
	var data, domain string
	add := &cobra.Command{
		Use:   "add NAME --domain DOMAIN",
		Short: "Add an organization with its accepted domain and an administrator",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if domain == "" {
				return errors.New("--domain is required")
			}
			pw := auth.RandomPassword(20)
			var adminUPN string
			lock, err := datadir.Acquire(data)
			switch {
			case errors.Is(err, datadir.ErrLocked):
				adminUPN, err = addOrgViaServer(data, args[0], domain, pw)
			case err != nil:
				return err
			default:
				defer lock.Release()
				adminUPN, err = addOrgDirect(cmd, data, args[0], domain, pw)
			}
			if err != nil {
				return err
			}
			file := "admin-password-" + domain
			if err := datadir.WriteSecret(data, file, pw+"\n"); err != nil {
				return err
			}
			fmt.Printf("Created organization %s (%s).\n\n  Administrator: %s\n  Password:      %s   (shown once; also in %s)\n",
				args[0], domain, adminUPN, pw, filepath.Join(data, file))
			return nil
		},
	}
	add.Flags().StringVar(&data, "data", "./actas-data", "data directory")
	add.Flags().StringVar(&domain, "domain", "", "the organization's accepted domain")
	c.AddCommand(add)
	return c
}

func addOrgDirect(cmd *cobra.Command, data, name, domain, pw string) (string, error) {
	st, err := store.OpenSQLite(cmd.Context(), data)
	if err != nil {
		return "", err
	}
	defer st.Close()
	dir, err := d.Open(cmd.Context(), st)
	if err != nil {
		return "", err
	}
	_, admin, err := cmdlet.CreateOrganization(cmd.Context(), dir, name, domain, pw)
	if err != nil {
		return "", err
	}
	return admin.UserPrincipalName, nil
}

func addOrgViaServer(data, name, domain, pw string) (string, error) {
	conn, err := datadir.ReadConnection(data)
	if err != nil {
		return "", fmt.Errorf("the server on %s is running but its connection file is unreadable: %w", data, err)
	}
	tok, err := datadir.ReadSecret(filepath.Join(data, datadir.SystemTokenFile))
	if err != nil {
		return "", err
	}
	body, _ := json.Marshal(server.OrgRequest{Name: name, Domain: domain, AdminPassword: pw})
	req, err := http.NewRequest(http.MethodPost, conn.URL+"/admin/v1/system/orgs", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if conn.Insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // our own self-signed certificate
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the server refused: %s", bytes.TrimSpace(b))
	}
	var out map[string]string
	if err := json.Unmarshal(b, &out); err != nil {
		return "", err
	}
	return out["admin"], nil
}
