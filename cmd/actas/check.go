package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/actasmail/actas/internal/analyzer"
	"github.com/actasmail/actas/internal/datadir"
	"github.com/actasmail/actas/internal/ewsclient"
)

type checkOpts struct {
	mailbox, serviceAccount        string
	passwordFile, passwordEnv      string
	ewsURL                         string
	impersonation, noImpersonation bool
	idType, id, folder             string
	insecure                       bool
	caFile                         string
	timeout                        time.Duration
	jsonOut                        bool
	adminUser, adminPasswordFile   string
	adminPasswordEnv               string
	sample                         int
	resolve                        []string
}

func checkCmd() *cobra.Command {
	var o checkOpts
	c := &cobra.Command{
		Use:   "check",
		Short: "Test a service account's EWS access to a mailbox, and explain any failure",
		Long: `Test a service account's access to a mailbox over Exchange Web Services, like
the "Service Account Access" test of Microsoft's Remote Connectivity Analyzer,
against Actas or any EWS server. Each step is reported with pass/warn/fail and
its elapsed time; each failure with the EWS response code, what it means, the
likely causes in the order to check them, and the Exchange Management Shell
command that fixes it.

Steps: Autodiscover (unless --ews-url), DNS, TCP, the TLS certificate, the
authentication schemes offered, authentication as the service account, then
GetFolder and FindItem on --folder of --mailbox, impersonated (or, with
--no-impersonation, as a delegate), with X-AnchorMailbox. Then three checks
Microsoft's test does not do: whether the server needs X-AnchorMailbox, a
Subscribe + GetEvents round trip, and the throttling budget where the server
reports it. Against Actas the report adds the RBAC decision behind the
result (Test-ApplicationImpersonation, as the service account itself or as
--admin-user), and --sample N checks the account against N mailboxes.

Exit status: 0 when the test passed (warnings allowed), 1 when it failed,
2 on a usage error.`,
		Example: `  actas check --mailbox alice@contoso.com --service-account svc@contoso.com --password-file svc.pw
  actas check --ews-url https://mail.contoso.com/EWS/Exchange.asmx --mailbox alice@contoso.com \
      --service-account svc@contoso.com --password-env SVC_PASSWORD --id-type PrincipalName --json
  actas check --no-impersonation --folder calendar --mailbox room1@contoso.com --service-account dave@contoso.com --password-file dave.pw`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.config(cmd)
			if err != nil {
				return err
			}
			rep := analyzer.Run(cmd.Context(), *cfg)
			if o.jsonOut {
				err = rep.WriteJSON(os.Stdout)
			} else {
				err = rep.WriteText(os.Stdout)
			}
			if err != nil {
				return err
			}
			if !rep.Passed {
				return exitError{code: 1}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.mailbox, "mailbox", "", "target mailbox to act as (SMTP address)")
	f.StringVar(&o.serviceAccount, "service-account", "", "service account to authenticate as (UPN, or DOMAIN\\user)")
	f.StringVar(&o.passwordFile, "password-file", "", "file holding the service account's password (a trailing newline is removed)")
	f.StringVar(&o.passwordEnv, "password-env", "", "environment variable holding the service account's password")
	f.StringVar(&o.ewsURL, "ews-url", "", "EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx (default: Autodiscover from the mailbox's domain)")
	f.BoolVar(&o.impersonation, "impersonation", true, "use Exchange impersonation (ExchangeImpersonation header)")
	f.BoolVar(&o.noImpersonation, "no-impersonation", false, "test delegate access instead (the service account's own rights on the folder)")
	f.StringVar(&o.idType, "id-type", "SmtpAddress", "ConnectingSID form: SmtpAddress, PrimarySmtpAddress, PrincipalName or SID")
	f.StringVar(&o.id, "id", "", "ConnectingSID value when it is not the mailbox address (a SID, or a UPN that differs); looked up with --admin-user when omitted")
	f.StringVar(&o.folder, "folder", "inbox", "distinguished folder to test (inbox, calendar, contacts, sentitems, ...)")
	f.BoolVar(&o.insecure, "insecure", false, "ignore certificate trust (reported as a warning)")
	f.StringVar(&o.caFile, "ca-file", "", "PEM file of CA certificates to trust instead of the system's (e.g. DATA/tls/cert.pem of a self-signed Actas)")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "time limit for each network operation")
	f.BoolVar(&o.jsonOut, "json", false, "write the report as JSON")
	f.StringVar(&o.adminUser, "admin-user", "", "administrator to read RBAC with (explain and --sample); default: the service account itself")
	f.StringVar(&o.adminPasswordFile, "admin-password-file", "", "file holding the administrator's password")
	f.StringVar(&o.adminPasswordEnv, "admin-password-env", "", "environment variable holding the administrator's password")
	f.IntVar(&o.sample, "sample", 0, "also check the service account against N mailboxes of the organization (Actas; needs --admin-user)")
	f.StringArrayVar(&o.resolve, "resolve", nil, "HOST:PORT:ADDRESS: connect to ADDRESS for HOST:PORT instead of asking DNS (repeatable)")
	return c
}

func (o *checkOpts) config(cmd *cobra.Command) (*analyzer.Config, error) {
	cfg := &analyzer.Config{Mailbox: strings.TrimSpace(o.mailbox), ServiceAccount: strings.TrimSpace(o.serviceAccount),
		EwsURL: o.ewsURL, ID: o.id, Insecure: o.insecure, Timeout: o.timeout, Sample: o.sample, AdminUser: o.adminUser}
	if cfg.ServiceAccount == "" {
		return nil, errors.New("--service-account is required")
	}
	if cfg.Mailbox == "" && o.sample <= 0 {
		return nil, errors.New("--mailbox is required (or --sample N)")
	}
	if o.sample < 0 {
		return nil, errors.New("--sample must be a positive number")
	}
	if cmd.Flags().Changed("impersonation") && o.impersonation && o.noImpersonation {
		return nil, errors.New("--impersonation and --no-impersonation contradict each other")
	}
	cfg.Impersonation = o.impersonation && !o.noImpersonation
	t, ok := ewsclient.ParseIDType(o.idType)
	if !ok {
		return nil, fmt.Errorf("--id-type %q: use SmtpAddress, PrimarySmtpAddress, PrincipalName or SID", o.idType)
	}
	if !cfg.Impersonation && (cmd.Flags().Changed("id-type") || o.id != "") {
		return nil, errors.New("--id-type and --id apply to impersonation; drop them with --no-impersonation")
	}
	cfg.IDType = t
	cfg.Folder = strings.ToLower(strings.TrimSpace(o.folder))
	if !analyzer.IsDistinguishedFolder(cfg.Folder) {
		return nil, fmt.Errorf("--folder %q is not a distinguished folder; use one of: %s", o.folder, strings.Join(analyzer.DistinguishedFolders, ", "))
	}
	pw, err := secret("--password-file", o.passwordFile, "--password-env", o.passwordEnv, true)
	if err != nil {
		return nil, err
	}
	cfg.Password = pw
	if o.adminUser != "" {
		if cfg.AdminPassword, err = secret("--admin-password-file", o.adminPasswordFile, "--admin-password-env", o.adminPasswordEnv, true); err != nil {
			return nil, err
		}
	} else if o.adminPasswordFile != "" || o.adminPasswordEnv != "" {
		return nil, errors.New("--admin-password-file/--admin-password-env need --admin-user")
	}
	if o.caFile != "" {
		b, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", o.caFile)
		}
		cfg.RootCAs = pool
	}
	if o.timeout <= 0 {
		return nil, errors.New("--timeout must be positive")
	}
	for _, r := range o.resolve {
		host, port, addr, err := parseResolve(r)
		if err != nil {
			return nil, err
		}
		if cfg.Resolve == nil {
			cfg.Resolve = map[string]string{}
		}
		cfg.Resolve[net.JoinHostPort(host, port)] = net.JoinHostPort(addr, port)
	}
	return cfg, nil
}

// parseResolve reads HOST:PORT:ADDRESS (ADDRESS may be a bracketed IPv6).
func parseResolve(s string) (host, port, addr string, err error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", fmt.Errorf("--resolve %q: want HOST:PORT:ADDRESS", s)
	}
	addr = strings.TrimSuffix(strings.TrimPrefix(parts[2], "["), "]")
	if net.ParseIP(addr) == nil {
		return "", "", "", fmt.Errorf("--resolve %q: %q is not an IP address", s, parts[2])
	}
	return parts[0], parts[1], addr, nil
}

// secret reads a password from a file or an environment variable.
func secret(fileFlag, file, envFlag, env string, required bool) (string, error) {
	switch {
	case file != "" && env != "":
		return "", fmt.Errorf("give %s or %s, not both", fileFlag, envFlag)
	case file != "":
		pw, err := datadir.ReadSecret(file)
		if err != nil {
			return "", fmt.Errorf("%s: %w", fileFlag, err)
		}
		return pw, nil
	case env != "":
		pw, ok := os.LookupEnv(env)
		if !ok {
			return "", fmt.Errorf("%s: the environment variable %s is not set", envFlag, env)
		}
		return pw, nil
	case required:
		return "", fmt.Errorf("%s or %s is required", fileFlag, envFlag)
	}
	return "", nil
}
