package sync

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/actionsync/actionsync/internal/actiontest"
	"github.com/actionsync/actionsync/internal/diff"
	"github.com/auth0/go-auth0/management"
)

// ErrBuildFailed is wrapped by the error of an action whose build failed.
var ErrBuildFailed = errors.New("build failed")

// ErrStale is wrapped by the error of a step that found the tenant changed
// under the plan: another writer created, deleted or replaced what the plan
// read. Apply plans such a step again from a fresh read; it is an error
// only once MaxReplans are spent.
var ErrStale = errors.New("the tenant changed under this run")

func stale(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrStale, fmt.Sprintf(format, args...))
}

func isStale(err error) bool { return errors.Is(err, ErrStale) }

// staleIfGone marks a 404, which a write to an action the plan read
// answers only when another writer deleted it, as ErrStale.
func staleIfGone(err error) error {
	if isStatus(err, http.StatusNotFound) {
		return fmt.Errorf("%w: %w", ErrStale, err)
	}
	return err
}

func isStatus(err error, code int) bool {
	var me management.Error
	return errors.As(err, &me) && me.Status() == code
}

// permanent reports whether err is an answer that a retry would get again:
// any 4xx but 408 (timeout) and 429 (rate limit).
func permanent(err error) bool {
	var me management.Error
	if !errors.As(err, &me) {
		return false
	}
	c := me.Status()
	return c >= 400 && c < 500 && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests
}

func errTimeout(d time.Duration) error {
	return fmt.Errorf("still not done after %v", d)
}

// Result is what an Apply did.
type Result struct {
	Revision string     `json:"revision"`
	Plan     *diff.Plan `json:"plan"`
	// Applied lists the outcome of each step, in plan order.
	Applied []StepResult `json:"applied"`
	// Reads is the number of API calls the plan took, and the plans made
	// again.
	Reads int `json:"reads"`
	// Replans counts the plans made again from a fresh read because the
	// tenant changed under the run (ErrStale), MaxReplans at most.
	Replans int `json:"replans,omitempty"`
	// Tests is what a Gate's cases did (docs/TESTS.md's report); nil
	// without a Gate.
	Tests *actiontest.Report `json:"tests,omitempty"`
}

func (s StepResult) stale() bool { return isStale(s.Err) }

// Failed returns the steps that failed.
func (r *Result) Failed() []StepResult {
	var out []StepResult
	for _, s := range r.Applied {
		if s.Err != nil {
			out = append(out, s)
		}
	}
	return out
}

// StepResult is the outcome of one step.
type StepResult struct {
	Kind    diff.Kind
	Subject string // the action's name, or the trigger of a bind
	Version int    // the version deployed, if any
	Err     error  // nil when the step succeeded
}

// MarshalJSON renders the step in the documented summary schema, its error
// as text.
func (s StepResult) MarshalJSON() ([]byte, error) {
	out := struct {
		Kind    diff.Kind `json:"kind"`
		Subject string    `json:"subject"`
		Version int       `json:"version,omitempty"`
		Error   string    `json:"error,omitempty"`
	}{Kind: s.Kind, Subject: s.Subject, Version: s.Version}
	if s.Err != nil {
		out.Error = s.Err.Error()
	}
	return json.Marshal(out)
}

// StepError is the error of one failed step, as Apply returns it (joined
// with the others): errors.Is and errors.As reach the step's own error.
type StepError struct {
	Kind    diff.Kind
	Subject string
	Err     error
}

func (e *StepError) Error() string { return fmt.Sprintf("%s %s: %v", e.Kind, e.Subject, e.Err) }

// Unwrap returns the step's own error.
func (e *StepError) Unwrap() error { return e.Err }

// stepErrors joins the errors of the failed steps, or returns nil.
func stepErrors(results []StepResult) error {
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, &StepError{Kind: r.Kind, Subject: r.Subject, Err: r.Err})
		}
	}
	return errors.Join(errs...)
}
