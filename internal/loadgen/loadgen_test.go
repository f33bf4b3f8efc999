package loadgen

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/actasmail/actas/internal/auth"
)

// TestRun: a tiny run syncs every item exactly once through the real
// server and EWS endpoint (Run itself fails if any is lost or repeated).
func TestRun(t *testing.T) {
	auth.Cost = bcrypt.MinCost
	res, err := Run(context.Background(), Config{Dir: t.TempDir(), Mailboxes: 3, Items: 7, Accounts: 2, Concurrency: 2, PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.ItemsSynced != 21 || res.Requests < 9 {
		t.Fatalf("%+v", res)
	}
}
