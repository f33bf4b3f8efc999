package loadgen

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/actasmail/actas/internal/auth"
)

// TestRun: a tiny run syncs every item exactly once through the real
// server and EWS endpoint, then every streaming subscription reports every
// delivery to its mailbox exactly once (Run itself fails if any change or
// event is lost or repeated).
func TestRun(t *testing.T) {
	auth.Cost = bcrypt.MinCost
	res, err := Run(context.Background(), Config{Dir: t.TempDir(), Mailboxes: 3, Items: 7, Accounts: 2, Concurrency: 2, PageSize: 3,
		Subscriptions: 12, Deliveries: 6})
	if err != nil {
		t.Fatal(err)
	}
	if res.ItemsSynced != 21 || res.Requests < 9 {
		t.Fatalf("%+v", res)
	}
	st := res.Stream
	if st == nil {
		t.Fatal("no streaming phase")
	}
	// 4 subscriptions per mailbox; mailboxes 0 and 2 belong to the first
	// account, 1 to the second: one connection each.
	if st.Subscriptions != 12 || st.Connections != 2 || st.Events != 6*4 {
		t.Fatalf("streaming: %+v", st)
	}
	if st.LatencyP50 <= 0 || st.LatencyP99 < st.LatencyP50 || st.LatencyMax < st.LatencyP99 {
		t.Fatalf("latencies: %+v", st)
	}
	if !strings.Contains(res.String(), "NewMailEvents") {
		t.Fatalf("report: %s", res)
	}
}

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		want    []arrival
		wantErr bool
	}{
		{"heartbeat", `<Envelope><Body><m:GetStreamingEventsResponse><m:ConnectionStatus>OK</m:ConnectionStatus></m:GetStreamingEventsResponse></Body></Envelope>`, nil, false},
		{"two subscriptions", `<Envelope><Body><m:Notifications>` +
			`<m:Notification><t:SubscriptionId>S1</t:SubscriptionId><t:NewMailEvent><t:Watermark>W</t:Watermark><t:ItemId Id="I1"/></t:NewMailEvent><t:NewMailEvent><t:ItemId Id="I2"/></t:NewMailEvent></m:Notification>` +
			`<m:Notification><t:SubscriptionId>S2</t:SubscriptionId><t:NewMailEvent><t:ItemId Id="I1"/></t:NewMailEvent></m:Notification>` +
			`</m:Notifications></Body></Envelope>`,
			[]arrival{{sub: "S1", item: "I1"}, {sub: "S1", item: "I2"}, {sub: "S2", item: "I1"}}, false},
		{"error message", `<Envelope><Body><m:GetStreamingEventsResponseMessage ResponseClass="Error"><m:ResponseCode>ErrorMissedNotificationEvents</m:ResponseCode></m:GetStreamingEventsResponseMessage></Body></Envelope>`, nil, true},
		{"event without item id", `<Envelope><m:Notification><t:SubscriptionId>S1</t:SubscriptionId><t:NewMailEvent></t:NewMailEvent></m:Notification></Envelope>`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEnvelope([]byte(tt.env))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
			}
		})
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tactas\nVmPeak:\t  900 kB\nVmRSS:\t   12345 kB\nRssAnon:\t 100 kB\n"
	if got := parseVmRSS([]byte(status)); got != 12345*1024 {
		t.Fatalf("got %d", got)
	}
	if got := parseVmRSS([]byte("Name:\tx\n")); got != 0 {
		t.Fatalf("no VmRSS line: got %d", got)
	}
	if vmRSS() < 0 {
		t.Fatal("negative resident size")
	}
}
