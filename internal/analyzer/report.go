package analyzer

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is a step's outcome.
type Status string

// Step outcomes, from best to worst (skip is "not run").
const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

func rank(s Status) int {
	switch s {
	case Fail:
		return 3
	case Warn:
		return 2
	case Pass:
		return 1
	}
	return 0
}

// Step is one node of the report tree.
type Step struct {
	Name    string        `json:"name"`
	Status  Status        `json:"status"`
	Elapsed time.Duration `json:"-"`
	// Detail lines: what was sent, what answered.
	Detail []string `json:"detail,omitempty"`
	// HTTPStatus and ResponseCode of the answer that decided the step.
	HTTPStatus   int    `json:"httpStatus,omitempty"`
	ResponseCode string `json:"responseCode,omitempty"`
	MessageText  string `json:"messageText,omitempty"`
	// ServerValues are the fault's MessageXml values (BackOffMilliseconds,
	// ActasReason, ActasExplanation, ...).
	ServerValues []Value    `json:"serverValues,omitempty"`
	Diagnosis    *Diagnosis `json:"diagnosis,omitempty"`
	Children     []*Step    `json:"children,omitempty"`

	start time.Time
}

// Value is a name and value pair.
type Value struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// MarshalJSON adds elapsedMs.
func (s *Step) MarshalJSON() ([]byte, error) {
	type plain Step
	return json.Marshal(struct {
		*plain
		ElapsedMS float64 `json:"elapsedMs"`
	}{(*plain)(s), float64(s.Elapsed.Microseconds()) / 1000})
}

func (s *Step) detail(format string, args ...any) {
	s.Detail = append(s.Detail, fmt.Sprintf(format, args...))
}

// rollup sets a parent's status from its children (worst wins; all
// skipped is skip) and its elapsed time to their sum when unset.
func (s *Step) rollup() {
	if len(s.Children) == 0 {
		return
	}
	worst := Skip
	var sum time.Duration
	for _, c := range s.Children {
		c.rollup()
		if rank(c.Status) > rank(worst) {
			worst = c.Status
		}
		sum += c.Elapsed
	}
	if rank(worst) > rank(s.Status) || s.Status == "" {
		s.Status = worst
	}
	if s.Elapsed == 0 {
		s.Elapsed = sum
	}
}

// Find returns the first step (depth first) with a name prefix.
func (s *Step) Find(prefix string) *Step {
	if strings.HasPrefix(s.Name, prefix) {
		return s
	}
	for _, c := range s.Children {
		if f := c.Find(prefix); f != nil {
			return f
		}
	}
	return nil
}

// Input echoes what was tested.
type Input struct {
	ServiceAccount string `json:"serviceAccount"`
	Mailbox        string `json:"mailbox,omitempty"`
	Mode           string `json:"mode"` // impersonation or delegate
	IDType         string `json:"idType,omitempty"`
	ID             string `json:"id,omitempty"`
	Folder         string `json:"folder"`
	EwsURL         string `json:"ewsUrl,omitempty"` // as given
	Insecure       bool   `json:"insecure,omitempty"`
	Admin          string `json:"adminUser,omitempty"`
	Sample         int    `json:"sample,omitempty"`
}

// Server is what the analyzer learned about the server.
type Server struct {
	EwsURL  string `json:"ewsUrl,omitempty"`
	Version string `json:"version,omitempty"`
	Actas   bool   `json:"actas"`
}

// SampleRow is one mailbox of the --sample matrix.
type SampleRow struct {
	Mailbox string `json:"mailbox"`
	// RBAC is what Test-ApplicationImpersonation decided: allowed or denied.
	RBAC string `json:"rbac"`
	// EWS is what an impersonated GetFolder did: allowed, denied or "" when
	// not tried.
	EWS          string `json:"ews,omitempty"`
	ResponseCode string `json:"responseCode,omitempty"`
	Assignment   string `json:"assignment,omitempty"`
	Scope        string `json:"scope,omitempty"`
	Reason       string `json:"reason"`
	Mismatch     bool   `json:"mismatch,omitempty"`
}

// Sample is the --sample result.
type Sample struct {
	Total int         `json:"total"` // mailboxes in the organization
	Rows  []SampleRow `json:"rows"`
}

// Report is the whole result.
type Report struct {
	Input   Input   `json:"input"`
	Server  Server  `json:"server"`
	Verdict Status  `json:"verdict"` // pass, warn (passed with warnings) or fail
	Passed  bool    `json:"passed"`
	Summary string  `json:"summary"`
	Steps   []*Step `json:"steps"`
	Sample  *Sample `json:"sample,omitempty"`
	Elapsed float64 `json:"elapsedMs"`
}

// Find returns the first step with a name prefix.
func (r *Report) Find(prefix string) *Step {
	for _, s := range r.Steps {
		if f := s.Find(prefix); f != nil {
			return f
		}
	}
	return nil
}

// finish computes the verdict.
func (r *Report) finish() {
	worst := Pass
	var firstFail *Step
	warnings := 0
	var walk func(s *Step)
	walk = func(s *Step) {
		if len(s.Children) == 0 {
			switch s.Status {
			case Fail:
				if firstFail == nil {
					firstFail = s
				}
			case Warn:
				warnings++
			}
		}
		for _, c := range s.Children {
			walk(c)
		}
	}
	for _, s := range r.Steps {
		s.rollup()
		if rank(s.Status) > rank(worst) {
			worst = s.Status
		}
		walk(s)
	}
	r.Verdict = worst
	r.Passed = worst != Fail
	switch {
	case firstFail != nil:
		r.Summary = "FAILED at " + firstFail.Name
		if firstFail.ResponseCode != "" {
			r.Summary += ": " + firstFail.ResponseCode
		} else if firstFail.Diagnosis != nil {
			r.Summary += ": " + firstFail.Diagnosis.Key
		}
	case warnings > 0:
		r.Summary = fmt.Sprintf("PASSED with %d warning%s", warnings, plural(warnings))
	default:
		r.Summary = "PASSED"
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

const nameWidth = 64

// WriteText writes the report as a tree for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	in := r.Input
	b.WriteString("Actas connectivity analyzer: service account access test\n")
	fmt.Fprintf(&b, "  Service account: %s\n", in.ServiceAccount)
	if in.Mailbox != "" {
		mode := "delegate access (explicit Mailbox, no impersonation)"
		if in.Mode == "impersonation" {
			mode = "impersonation, ConnectingSID " + in.IDType
			if in.ID != "" && in.ID != in.Mailbox {
				mode += " " + in.ID
			}
		}
		fmt.Fprintf(&b, "  Target mailbox:  %s (%s)\n", in.Mailbox, mode)
		fmt.Fprintf(&b, "  Folder:          %s\n", in.Folder)
	}
	if r.Server.EwsURL != "" {
		fmt.Fprintf(&b, "  EWS URL:         %s\n", r.Server.EwsURL)
	}
	if r.Server.Version != "" {
		srv := r.Server.Version
		if r.Server.Actas {
			srv += ", Actas"
		}
		fmt.Fprintf(&b, "  Server:          %s\n", srv)
	}
	b.WriteString("\n")
	for _, s := range r.Steps {
		writeStep(&b, s, 0)
	}
	if r.Sample != nil {
		writeSample(&b, r.Sample)
	}
	fmt.Fprintf(&b, "\nResult: %s\n", r.Summary)
	_, err := io.WriteString(w, b.String())
	return err
}

func tag(s Status) string {
	switch s {
	case Pass:
		return "[PASS]"
	case Warn:
		return "[WARN]"
	case Fail:
		return "[FAIL]"
	}
	return "[SKIP]"
}

func fmtElapsed(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	case d < 10*time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func writeStep(b *strings.Builder, s *Step, depth int) {
	ind := strings.Repeat("  ", depth)
	head := ind + tag(s.Status) + " " + s.Name
	el := fmtElapsed(s.Elapsed)
	if s.Status == Skip {
		el = ""
	}
	pad := nameWidth + 10 - utf8.RuneCountInString(head) - len(el)
	if pad < 2 {
		pad = 2
	}
	b.WriteString(head + strings.Repeat(" ", pad) + el + "\n")
	sub := ind + "       "
	for _, d := range s.Detail {
		b.WriteString(sub + d + "\n")
	}
	if s.ResponseCode != "" && s.Status != Pass && s.Status != Skip {
		line := "Response: "
		if s.HTTPStatus != 0 {
			line += fmt.Sprintf("HTTP %d, ", s.HTTPStatus)
		}
		line += s.ResponseCode
		if s.MessageText != "" {
			line += ": " + s.MessageText
		}
		b.WriteString(sub + line + "\n")
	}
	for _, v := range s.ServerValues {
		b.WriteString(sub + v.Name + ": " + v.Value + "\n")
	}
	if d := s.Diagnosis; d != nil {
		b.WriteString(sub + "Meaning: " + d.Meaning + "\n")
		if d.Confirmed != "" && !hasValue(s.ServerValues, d.Confirmed) {
			b.WriteString(sub + "Confirmed cause: " + d.Confirmed + "\n")
		}
		if len(d.Causes) > 0 {
			b.WriteString(sub + "Likely causes, in the order to check them:\n")
			for i, c := range d.Causes {
				fmt.Fprintf(b, "%s  %d. %s\n", sub, i+1, c)
			}
		}
		b.WriteString(sub + "Fix: " + d.Fix + "\n")
		for _, c := range d.Commands {
			b.WriteString(sub + "  PS> " + c + "\n")
		}
	}
	for _, c := range s.Children {
		writeStep(b, c, depth+1)
	}
}

func writeSample(b *strings.Builder, s *Sample) {
	fmt.Fprintf(b, "\nSample: %d of %d mailboxes\n", len(s.Rows), s.Total)
	wm := len("MAILBOX")
	for _, r := range s.Rows {
		if n := utf8.RuneCountInString(r.Mailbox); n > wm {
			wm = n
		}
	}
	fmt.Fprintf(b, "  %-*s  %-8s  %-8s  %s\n", wm, "MAILBOX", "RBAC", "EWS", "WHY")
	for _, r := range s.Rows {
		ews := r.EWS
		if ews == "" {
			ews = "-"
		}
		if r.Mismatch {
			ews += " (!)"
		}
		why := r.Reason
		if r.RBAC == "allowed" && r.Assignment != "" {
			why = "assignment " + r.Assignment
			if r.Scope != "" {
				why += ", scope " + r.Scope
			}
		}
		if r.ResponseCode != "" && r.ResponseCode != "NoError" {
			why += " [" + r.ResponseCode + "]"
		}
		fmt.Fprintf(b, "  %-*s  %-8s  %-8s  %s\n", wm, r.Mailbox, r.RBAC, ews, why)
	}
}

func hasValue(vs []Value, v string) bool {
	for _, x := range vs {
		if x.Value == v {
			return true
		}
	}
	return false
}
