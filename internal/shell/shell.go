// Package shell is the Exchange-Management-Shell-compatible language: it parses PowerShell-subset scripts, binds parameters, runs cmdlets through a Backend and formats results as EMS does.
package shell

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"golang.org/x/term"

	"github.com/actasmail/actas/internal/adminapi"
)

// Backend runs cmdlets: the server, over HTTP (*adminapi.Client).
type Backend interface {
	Cmdlets(ctx context.Context) ([]adminapi.CmdletInfo, error)
	Invoke(ctx context.Context, req adminapi.Request) (*adminapi.Response, error)
}

// Shell runs scripts against a Backend. Variables persist from one Run to
// the next. A Shell is not safe for concurrent use.
type Shell struct {
	backend        Backend
	stdout, stderr io.Writer
	width          int                   // tables are truncated to this many columns
	vars           map[string]any        // by lower-case name
	cmdlets        []adminapi.CmdletInfo // fetched on first use
	failed         bool
}

// New returns a shell that writes output to stdout and errors and warnings
// to stderr.
func New(b Backend, stdout, stderr io.Writer) *Shell {
	return &Shell{
		backend: b, stdout: stdout, stderr: stderr, width: 120,
		vars: map[string]any{"erroractionpreference": "Continue"},
	}
}

// Run executes a whole script (from -c, a file or piped stdin). Errors in one
// statement are printed and execution continues with the next statement
// (PowerShell non-terminating behaviour); parse errors abort the script. It
// returns false if any command failed (the CLI exits 1 then).
func (s *Shell) Run(ctx context.Context, script string) bool {
	s.failed = false
	s.exec(ctx, script)
	return !s.failed
}

// exec runs one script and reports whether it ran the exit statement.
func (s *Shell) exec(ctx context.Context, script string) (exited bool) {
	src := []rune(strings.TrimPrefix(script, "\uFEFF"))
	stmts, err := parse(src)
	if err != nil {
		s.writeError(parseErrorRecord(err.(*parseError), src))
		return false
	}
	err = s.runStatements(ctx, stmts, s.writeOutput)
	var se *stopError
	var ee *exitError
	switch {
	case errors.As(err, &se):
		s.writeError(se.rec)
	case errors.As(err, &ee):
		if ee.code != 0 {
			s.failed = true
		}
		return true
	}
	return false
}

// Interactive runs a prompt loop with line editing and history
// (golang.org/x/term Terminal) on a terminal; statements continue over lines
// while braces/parens/quotes are open or a line ends with a backtick. On a
// non-terminal it reads lines without prompting. Ctrl-C cancels the running
// command or the current input; Ctrl-D or exit ends the loop. It returns
// false if any command failed during the session.
func (s *Shell) Interactive(ctx context.Context, in io.Reader, out io.Writer) bool {
	var rd lineReader = &plainReader{r: bufio.NewReader(in)}
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tr := &termReader{fd: int(f.Fd()), in: &interruptReader{r: f}, out: out}
		tr.reset()
		if w, _, err := term.GetSize(tr.fd); err == nil && w > 0 {
			s.width = w
		}
		rd = tr
	}
	s.failed = false
	var buf strings.Builder
	for ctx.Err() == nil {
		prompt := "PS> "
		if buf.Len() > 0 {
			prompt = ">> "
		}
		line, err := rd.readLine(prompt)
		if errors.Is(err, errInterrupted) {
			buf.Reset()
			continue
		}
		if err != nil && buf.Len() == 0 {
			break
		}
		buf.WriteString(line)
		buf.WriteByte('\n')
		if err == nil && needsMoreInput(buf.String()) {
			continue
		}
		script := buf.String()
		buf.Reset()
		runCtx, stop := signal.NotifyContext(ctx, os.Interrupt)
		exited := s.exec(runCtx, script)
		stop()
		if exited || err != nil {
			break
		}
	}
	return !s.failed
}

// needsMoreInput reports whether src is an unfinished statement: an open
// brace, parenthesis or string, or a trailing backtick or pipe.
func needsMoreInput(src string) bool {
	if strings.HasSuffix(strings.TrimRight(src, " \t\r\n"), "`") {
		return true
	}
	_, err := parse([]rune(src))
	var pe *parseError
	return errors.As(err, &pe) && pe.incomplete
}

var errInterrupted = errors.New("interrupted")

type lineReader interface {
	readLine(prompt string) (string, error)
}

type plainReader struct{ r *bufio.Reader }

func (p *plainReader) readLine(string) (string, error) {
	line, err := p.r.ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// termReader edits lines on a terminal, in raw mode only while reading.
type termReader struct {
	t   *term.Terminal
	fd  int
	in  *interruptReader
	out io.Writer
}

func (r *termReader) reset() {
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{r.in, r.out}, "")
	if r.t != nil {
		t.History = r.t.History
	}
	if w, h, err := term.GetSize(r.fd); err == nil && w > 0 && h > 0 {
		_ = t.SetSize(w, h)
	}
	r.t = t
}

func (r *termReader) readLine(prompt string) (string, error) {
	if state, err := term.MakeRaw(r.fd); err == nil {
		defer func() { _ = term.Restore(r.fd, state) }()
	}
	r.t.SetPrompt(prompt)
	line, err := r.t.ReadLine()
	if errors.Is(err, term.ErrPasteIndicator) {
		err = nil
	}
	if errors.Is(err, io.EOF) && r.in.interrupted {
		// The Terminal reports Ctrl-C as EOF and keeps the half-typed line:
		// start a fresh one, keeping the history.
		r.in.interrupted = false
		fmt.Fprint(r.out, "^C\r\n")
		r.reset()
		return "", errInterrupted
	}
	return line, err
}

// interruptReader notes when Ctrl-C passes through.
type interruptReader struct {
	r           io.Reader
	interrupted bool
}

func (i *interruptReader) Read(p []byte) (int, error) {
	n, err := i.r.Read(p)
	if bytes.IndexByte(p[:n], 3) >= 0 {
		i.interrupted = true
	}
	return n, err
}
