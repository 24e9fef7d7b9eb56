// Package actiontest loads a repo's test cases for its actions, runs them,
// judges them and renders the report.
//
// The cases live beside the code they test:
//
//	actions/<dir>/tests/*.yaml        cases of one action
//	triggers/<trigger>.tests.yaml     flow cases: the trigger's bound actions, in order
//
// Each file is a list of cases. A case names an event (partial, merged over
// a realistic default for the trigger), optional secret overrides, and what
// must happen: the api calls in order (expect), a throw (throws), or both.
// docs/TESTS.md is the reference. Cases run through a Runner: node.Runner
// runs them locally; internal/remote runs the same cases on a tenant,
// through the Management API's test endpoint.
package actiontest

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/actionsync/actionsync/internal/node"
)

// Runner runs a trigger's actions, in order, for one event, as Auth0 runs a
// flow, and reports what they did (a single action is a flow of one). The
// contract node.Runner keeps:
//
//   - the error is non-nil only when the code could not run (node or npm
//     missing, a dependency that cannot be installed, ctx ended); a throw, a
//     deny and a time-out are in the Result;
//   - Result.Calls are in order, each with the action that made it;
//   - no secret value of the actions appears anywhere in the Result;
//   - it is safe for concurrent use.
type Runner interface {
	Run(ctx context.Context, event map[string]any, actions ...node.Action) (*node.Result, error)
}

var _ Runner = (*node.Runner)(nil)

// Skipper is a Runner that cannot run some cases as they are written (a
// tenant's test endpoint cannot take per-case secrets). Skip says why it
// cannot run c, or "" when it can; a case it cannot run is reported as
// skipped with that reason, never run differently from how it is written.
type Skipper interface {
	Skip(c *Case) string
}

// Case is one test case.
type Case struct {
	Name string
	// File and Line are where the case starts, File relative to the repo.
	File string
	Line int
	// Action is the action under test; "" for a flow case, which runs every
	// action bound to Trigger.
	Action  string
	Trigger string
	// Event is the case's partial event, as written.
	Event map[string]any
	// Secrets override secret values for this case, by name.
	Secrets map[string]string
	// Expect is the api calls that must be made, in order; nil when the case
	// has no expect, empty when it expects no call at all.
	Expect []Call
	// Throws, when set, is a substring of the message the code must throw.
	Throws string
}

// Flow reports whether the case runs a trigger's flow rather than one
// action.
func (c *Case) Flow() bool { return c.Action == "" }

// Subject is what the case tests: the action's name, or "flow <trigger>".
func (c *Case) Subject() string {
	if c.Flow() {
		return "flow " + c.Trigger
	}
	return c.Action
}

// Call is one expected api call.
type Call struct {
	// Method is the path from api, without it: "access.deny".
	Method string
	// Args are the arguments, as JSON would decode them.
	Args []any
}

// String shows the call as code: api.access.deny("blocked").
func (c Call) String() string { return callString(c.Method, c.Args) }

func callString(method string, args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = jsonText(a)
	}
	return "api." + method + "(" + strings.Join(parts, ", ") + ")"
}

// jsonText renders v as compact JSON, without HTML escapes.
func jsonText(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "?"
	}
	return strings.TrimSuffix(b.String(), "\n")
}
