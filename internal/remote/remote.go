// Package remote runs a repo's test cases on a tenant, through the
// Management API's test endpoint (POST /api/v2/actions/actions/{id}/test),
// on the tenant's built drafts.
//
// Runner is an actiontest.Runner: it runs a flow's actions one at a time,
// each as one test of its draft, and carries the flow (node.Flow) from one
// to the next as Auth0 does: the event with the metadata set so far, a
// deny or a throw stopping it. Gate is a tested deploy's check on it
// (sync.Gate).
//
// The endpoint's answer is documented only as "the resulting payload"; the
// shape read here is the one the local tenant answers and Auth0's recorded
// answers share (docs/TESTS.md, "On a tenant"): error and stats, plus
// api_calls, logs and execution_id.
package remote

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/actionsync/actionsync/internal/actiontest"
	"github.com/actionsync/actionsync/internal/node"
	"github.com/auth0/go-auth0/management"
)

// API is what the runner needs of a tenant: go-auth0's test of an action's
// draft, which decodes the endpoint's answer into the payload it sent (go-
// auth0 v1 returns it no other way), and its read of an execution. Neither
// is a write; errors for answers of 400 and up are management.Error.
type API interface {
	Test(ctx context.Context, id string, payload *management.ActionTestPayload, opts ...management.RequestOption) error
	Execution(ctx context.Context, executionID string, opts ...management.RequestOption) (*management.ActionExecution, error)
}

var _ API = (*management.ActionManager)(nil)

// Errors a caller can tell apart with errors.Is.
var (
	// ErrNoDraft means an action to run has no draft on the tenant to test.
	ErrNoDraft = errors.New("no draft on the tenant")
	// ErrNoCalls means the endpoint's answer did not say which api calls
	// the code made, so no case can be judged from it.
	ErrNoCalls = errors.New("the test endpoint's answer has no api_calls")
)

// Runner runs test cases on a tenant's drafts. It keeps no state; it is
// safe for concurrent use.
type Runner struct {
	API API
	// ID returns the tenant's id of the named action, whose draft runs, or
	// why there is none (wrapping ErrNoDraft).
	ID func(name string) (string, error)
}

var (
	_ actiontest.Runner  = (*Runner)(nil)
	_ actiontest.Skipper = (*Runner)(nil)
)

// IDs is a Runner.ID that looks names up in ids.
func IDs(ids map[string]string) func(string) (string, error) {
	return func(name string) (string, error) {
		if id, ok := ids[name]; ok {
			return id, nil
		}
		return "", fmt.Errorf("action %s: %w", name, ErrNoDraft)
	}
}

// Skip skips a case that sets secrets: the endpoint runs a draft with the
// secret values the tenant holds, and takes no others.
func (r *Runner) Skip(c *actiontest.Case) string {
	if len(c.Secrets) > 0 {
		return "the case sets secrets, which a tenant's test endpoint cannot take: it runs the draft with the values the tenant holds (run it locally, without --remote)"
	}
	return ""
}

// Run runs actions in order, each as one test of its draft on the tenant,
// carrying the flow between them (node.Flow): each gets the event with the
// metadata set so far; a deny stops the flow once its action returns, a
// throw at once. Each action has the tenant's own time limit. The error is
// non-nil only when an action could not run: it has no draft, the tenant
// refused the test, the answer could not be read, or ctx ended. No secret
// value of actions appears in the Result.
func (r *Runner) Run(ctx context.Context, event map[string]any, actions ...node.Action) (*node.Result, error) {
	started := time.Now()
	f := node.NewFlow(event)
	res := &node.Result{}
	for _, a := range actions {
		out, err := r.runAction(ctx, a, f.Event())
		if err != nil {
			return nil, fmt.Errorf("run %s on the tenant: %w", a.Name, err)
		}
		res.Actions = append(res.Actions, out.run)
		res.Calls = append(res.Calls, out.calls...)
		res.Logs = append(res.Logs, out.logs...)
		f.Record(a.Name, out.calls)
		if out.run.Error != nil {
			res.Error = out.run.Error
			res.TimedOut = strings.HasPrefix(out.run.Error.Message, node.TimeoutMessage)
			break
		}
		if f.Stopped() {
			break
		}
	}
	res.State, res.DeniedBy = f.State, f.DeniedBy
	res.Duration = time.Since(started)
	node.MaskResult(res, actions)
	return res, nil
}

// actionOut is what one action's test did.
type actionOut struct {
	run   node.ActionRun
	calls []node.Call
	logs  []node.Log
}

// runAction tests a's draft with event and reads what it did, and the
// execution the tenant recorded, when it says which.
func (r *Runner) runAction(ctx context.Context, a node.Action, event map[string]any) (*actionOut, error) {
	id, err := r.ID(a.Name)
	if err != nil {
		return nil, err
	}
	delete(event, "secrets") // the draft runs with the tenant's values
	payload := management.ActionTestPayload{"event": event}
	if err := r.API.Test(ctx, id, &payload); err != nil {
		return nil, err
	}
	delete(payload, "event")
	ans, err := decode(payload)
	if err != nil {
		return nil, err
	}
	out, err := ans.result(a.Name)
	if err != nil {
		return nil, err
	}
	if ans.ExecutionID != "" {
		out.run.Execution = ans.ExecutionID
		if out.run.Error == nil {
			out.run.Error = r.executionError(ctx, ans.ExecutionID, a.Name)
		}
	}
	return out, nil
}

// executionError reads the execution the tenant recorded and returns the
// action's error in it, if any: an answer that carries no error of its own
// may still be of a run that failed. A read that fails says nothing (Auth0
// keeps executions for 10 days, and may not keep test runs at all).
func (r *Runner) executionError(ctx context.Context, executionID, action string) *node.Error {
	e, err := r.API.Execution(ctx, executionID)
	if err != nil {
		return nil
	}
	for _, step := range e.Results {
		if step.GetActionName() == action && len(step.Error) > 0 {
			return errorOf(step.Error, action)
		}
	}
	return nil
}
