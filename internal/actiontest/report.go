package actiontest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/actionsync/actionsync/internal/node"
)

// Status is how a case ended.
type Status string

// The statuses, as the JSON report spells them.
const (
	// StatusPass: the code did what the case says.
	StatusPass Status = "pass"
	// StatusFail: it did something else, threw, or ran out of time.
	StatusFail Status = "fail"
	// StatusError: it could not run (node or npm missing, a dependency that
	// could not be installed, a flow binding an action the repo lacks).
	StatusError Status = "error"
	// StatusSkip: it was not run, for a reason that is no fault of the
	// code: the runner cannot do what the case asks (a tenant cannot take
	// per-case secrets), or what it tests is not going to run (a tested
	// deploy held back an action of its flow).
	StatusSkip Status = "skip"
)

// Result is one case's outcome.
type Result struct {
	Case   *Case
	Status Status
	// Reason says why a case failed or erred: the first call that differs,
	// got and want, or the throw, or what kept it from running.
	Reason string
	// Err is what kept an erred case from running, for errors.Is (such as
	// node.ErrNoNode).
	Err error
	// Calls are the api calls made, in order, each with its action.
	Calls []node.Call
	// Logs are the console output, each line with its action.
	Logs []node.Log
	// Thrown is what stopped the run: a throw or the time-out.
	Thrown   *node.Error
	TimedOut bool
	// DeniedBy names the action whose deny stopped a flow.
	DeniedBy string
	// Executions are the tenant's ids of the executions of the case, one
	// per action run, when a tenant ran it and said.
	Executions []string
	Duration   time.Duration
}

// Report is the outcome of a run, one Result per case in the suite's order.
type Report struct {
	Results  []Result
	Duration time.Duration
}

// Count returns how many cases ended with status.
func (r *Report) Count(status Status) int {
	n := 0
	for _, res := range r.Results {
		if res.Status == status {
			n++
		}
	}
	return n
}

// Passed reports whether no case failed or erred (exit code 0): every
// case passed or was skipped.
func (r *Report) Passed() bool { return r.Count(StatusFail)+r.Count(StatusError) == 0 }

// Failed reports whether res failed or erred.
func (res Result) Failed() bool { return res.Status == StatusFail || res.Status == StatusError }

// FailedActions names the actions with a case of their own that failed or
// erred, sorted: the ones a tested deploy holds back. Flow cases concern a
// trigger, not one action, and are not counted here.
func (r *Report) FailedActions() []string {
	var names []string
	for _, res := range r.Results {
		if res.Failed() && !res.Case.Flow() && !slices.Contains(names, res.Case.Action) {
			names = append(names, res.Case.Action)
		}
	}
	slices.Sort(names)
	return names
}

// Summary counts the results in a sentence.
func (r *Report) Summary() string {
	errs := "errors"
	if r.Count(StatusError) == 1 {
		errs = "error"
	}
	cases := "cases"
	if len(r.Results) == 1 {
		cases = "case"
	}
	s := fmt.Sprintf("%d %s: %d passed, %d failed, %d %s", len(r.Results), cases, r.Count(StatusPass), r.Count(StatusFail), r.Count(StatusError), errs)
	if n := r.Count(StatusSkip); n > 0 {
		s += fmt.Sprintf(", %d skipped", n)
	}
	return s
}

// ordered returns the results with errors first, then failures, skips and
// passes, each in the suite's order: what a reader must see comes first.
func (r *Report) ordered() []Result {
	out := slices.Clone(r.Results)
	rank := map[Status]int{StatusError: 0, StatusFail: 1, StatusSkip: 2, StatusPass: 3}
	slices.SortStableFunc(out, func(a, b Result) int { return rank[a.Status] - rank[b.Status] })
	return out
}

// details are the lines shown under a case that did not pass: its reason,
// then its logs.
func (res Result) details() []string {
	lines := strings.Split(sanitize(res.Reason), "\n")
	if res.DeniedBy != "" {
		lines = append(lines, "denied by "+res.DeniedBy)
	}
	if len(res.Executions) > 0 {
		lines = append(lines, "executions on the tenant: "+sanitize(strings.Join(res.Executions, ", ")))
	}
	if len(res.Logs) > 0 {
		lines = append(lines, "logs:")
	}
	for _, l := range res.Logs {
		prefix := "  "
		if res.Case.Flow() {
			prefix += "[" + l.Action + "] "
		}
		for _, t := range strings.Split(sanitize(l.Text), "\n") {
			lines = append(lines, prefix+t)
		}
	}
	return lines
}

// sanitize shows control characters, other than newlines and tabs, as
// escapes, so code's output cannot drive a terminal.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069: // bidi overrides
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }
