package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/actasmail/actas/internal/loadgen"
)

func benchCmd() *cobra.Command {
	var cfg loadgen.Config
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure EWS throughput with simulated service accounts (in-process, loopback only)",
		Long: `Build a throwaway Actas in a temporary data directory, populate M mailboxes
with N items each, then let service accounts impersonate them and run the initial
SyncFolderItems of every Inbox over HTTP on a loopback listener, as a sync
engine would. Prints items per second and request latencies.

Then the streaming phase (unless --subscriptions 0): the service accounts
open streaming subscriptions on the Inboxes they impersonate (spread evenly
over the mailboxes), hold them on GetStreamingEvents connections of 200 ids,
and new mail is delivered to random subscribed mailboxes. Prints the
resident memory (VmRSS) before and after creating the subscriptions, and the
latency from each delivery to the NewMailEvent read by the client.

The issue's full size:
  actas bench --mailboxes 1000 --items 1000 --accounts 8 --subscriptions 10000 --deliveries 2000 --rate 50`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Log = os.Stderr
			res, err := loadgen.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Println(res)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.Dir, "data", "", "data directory to build in (default: a temporary one, removed afterwards)")
	f.IntVar(&cfg.Mailboxes, "mailboxes", 100, "mailboxes")
	f.IntVar(&cfg.Items, "items", 100, "items per mailbox")
	f.IntVar(&cfg.Accounts, "accounts", 4, "service accounts")
	f.IntVar(&cfg.Concurrency, "concurrency", 2, "requests in flight per service account")
	f.IntVar(&cfg.PageSize, "page", 512, "MaxChangesReturned per SyncFolderItems request")
	f.IntVar(&cfg.Subscriptions, "subscriptions", 1000, "streaming subscriptions in total (0: no streaming phase)")
	f.IntVar(&cfg.Deliveries, "deliveries", 200, "new messages delivered during the streaming phase")
	f.Float64Var(&cfg.Rate, "rate", 50, "deliveries per second (0: back to back)")
	return c
}
