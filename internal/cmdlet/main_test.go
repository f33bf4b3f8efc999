package cmdlet

import (
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/actasmail/actas/internal/auth"
)

// TestMain lowers the bcrypt cost: the tests create many accounts, and
// full-cost hashing under the race detector dominates their run time.
func TestMain(m *testing.M) {
	auth.Cost = bcrypt.MinCost
	os.Exit(m.Run())
}
