package sync

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/actionsync/actionsync/internal/diff"
)

// ErrBuildFailed is wrapped by the error of an action whose build failed.
var ErrBuildFailed = errors.New("build failed")

// Result is what an Apply did.
type Result struct {
	Revision string     `json:"revision"`
	Plan     *diff.Plan `json:"plan"`
	// Applied lists the outcome of each step, in plan order.
	Applied []StepResult `json:"applied"`
	// Reads is the number of API calls the plan took.
	Reads int `json:"reads"`
}

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
