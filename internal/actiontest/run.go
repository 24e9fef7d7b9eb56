package actiontest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/node"
	"github.com/actionsync/actionsync/internal/tenant"
)

// Select returns the suite of the cases that concern the named actions:
// their own cases, and the flow cases of every trigger that binds one of
// them (a change to an action can break its flow). No names selects every
// case. A name the repo does not hold is an error.
func (s *Suite) Select(names ...string) (*Suite, error) {
	if len(names) == 0 {
		return s, nil
	}
	for _, n := range names {
		if s.repo.Action(n) == nil {
			return nil, fmt.Errorf("select tests: the repo has no action %q", n)
		}
	}
	out := &Suite{repo: s.repo}
	for _, c := range s.Cases {
		if slices.Contains(names, c.Action) || c.Flow() && slices.ContainsFunc(s.Bound(c.Trigger), func(b string) bool { return slices.Contains(names, b) }) {
			out.Cases = append(out.Cases, c)
		}
	}
	return out, nil
}

// Filter returns the suite of the cases keep keeps, in order.
func (s *Suite) Filter(keep func(*Case) bool) *Suite {
	out := &Suite{repo: s.repo}
	for _, c := range s.Cases {
		if keep(c) {
			out.Cases = append(out.Cases, c)
		}
	}
	return out
}

// Skip reports every case of the suite as skipped, for reason, without
// running any.
func (s *Suite) Skip(reason string) *Report {
	rep := &Report{Results: make([]Result, len(s.Cases))}
	for i, c := range s.Cases {
		rep.Results[i] = Result{Case: c, Status: StatusSkip, Reason: reason}
	}
	return rep
}

// Bound names the actions bound to trigger in triggers.yaml, in order.
func (s *Suite) Bound(trigger string) []string {
	t := s.repo.Trigger(trigger)
	if t == nil {
		return nil
	}
	names := make([]string, len(t.Bindings))
	for i, b := range t.Bindings {
		names[i] = b.Action
	}
	return names
}

// RunOptions tune a run.
type RunOptions struct {
	// Parallel bounds the cases that run at once; 0 means one per CPU.
	Parallel int
}

// Run runs every case through r, at most opts.Parallel at once, and judges
// each. The report lists the results in the suite's order.
func (s *Suite) Run(ctx context.Context, r Runner, opts RunOptions) *Report {
	n := opts.Parallel
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	started := time.Now()
	rep := &Report{Results: make([]Result, len(s.Cases))}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, c := range s.Cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rep.Results[i] = s.runCase(ctx, r, c)
		}()
	}
	wg.Wait()
	rep.Duration = time.Since(started)
	return rep
}

func (s *Suite) runCase(ctx context.Context, r Runner, c *Case) Result {
	res := Result{Case: c}
	if sk, ok := r.(Skipper); ok {
		if why := sk.Skip(c); why != "" {
			res.Status, res.Reason = StatusSkip, why
			return res
		}
	}
	actions, err := s.actions(c)
	if err != nil {
		return res.failed(StatusError, err)
	}
	base, _ := DefaultEvent(c.Trigger)
	started := time.Now()
	out, err := r.Run(ctx, Merge(base, c.Event), actions...)
	res.Duration = time.Since(started)
	if err != nil {
		return res.failed(StatusError, err)
	}
	res.Calls, res.Logs, res.Thrown = out.Calls, out.Logs, out.Error
	res.TimedOut, res.DeniedBy, res.Duration = out.TimedOut, out.DeniedBy, out.Duration
	for _, a := range out.Actions {
		if a.Execution != "" {
			res.Executions = append(res.Executions, a.Execution)
		}
	}
	res.Status, res.Reason = judge(c, out)
	return res
}

func (r Result) failed(status Status, err error) Result {
	r.Status, r.Reason, r.Err = status, err.Error(), err
	return r
}

// ErrNotInRepo is why a flow case cannot run locally: its trigger binds an
// action the repo does not hold (a Marketplace integration).
var ErrNotInRepo = errors.New("bound action is not in the repo")

// actions are what c runs: its action, or its trigger's bound actions in
// order, each with its secret values and c's overrides.
func (s *Suite) actions(c *Case) ([]node.Action, error) {
	names := []string{c.Action}
	if c.Flow() {
		names = s.Bound(c.Trigger)
	}
	out := make([]node.Action, 0, len(names))
	for _, name := range names {
		a := s.repo.Action(name)
		if a == nil {
			return nil, fmt.Errorf("%s: %w: triggers.yaml binds %s, which runs only on the tenant", c.Trigger, ErrNotInRepo, name)
		}
		out = append(out, s.nodeAction(a, c.Secrets))
	}
	return out, nil
}

// nodeAction is a as it runs: its code, dependencies and secret values
// (c's overrides applied), with the modules it uses as the commit holds
// them, each with its own dependencies and secret values.
func (s *Suite) nodeAction(a *manifest.Action, overrides map[string]string) node.Action {
	out := node.Action{Name: a.Name, Trigger: a.Trigger.ID, File: a.CodePath, Code: a.Code,
		Dependencies: nodeDeps(a.Dependencies), Secrets: secretValues(a.Secrets)}
	for name := range out.Secrets {
		if v, ok := overrides[name]; ok {
			out.Secrets[name] = v
		}
	}
	for _, name := range a.Modules {
		m := s.repo.Module(name)
		out.Modules = append(out.Modules, node.Module{Name: m.Name, File: m.CodePath, Code: m.Code,
			Dependencies: nodeDeps(m.Dependencies), Secrets: secretValues(m.Secrets)})
	}
	return out
}

func nodeDeps(ds []tenant.Dependency) []node.Dependency {
	var out []node.Dependency
	for _, d := range ds {
		out = append(out, node.Dependency{Name: d.Name, Version: d.Version})
	}
	return out
}

func secretValues(ss []manifest.Secret) map[string]string {
	out := make(map[string]string, len(ss))
	for _, sec := range ss {
		out[sec.Name] = sec.Value
	}
	return out
}

// judge decides whether what the code did is what c says must happen.
// A time-out is a fail: it is what Auth0 would do with the code.
func judge(c *Case, res *node.Result) (Status, string) {
	switch {
	case res.TimedOut:
		return StatusFail, res.Error.Message
	case c.Throws != "" && res.Error == nil:
		return StatusFail, fmt.Sprintf("want a throw whose message contains %q; %s returned without throwing", c.Throws, returned(c))
	case c.Throws != "" && !strings.Contains(res.Error.Message, c.Throws):
		return StatusFail, fmt.Sprintf("%s, want a message containing %q", threw(c, res.Error), c.Throws)
	case c.Throws == "" && res.Error != nil:
		return StatusFail, threw(c, res.Error)
	}
	if c.Expect != nil {
		if reason := compareCalls(c, c.Expect, res.Calls); reason != "" {
			return StatusFail, reason
		}
	}
	return StatusPass, ""
}

func returned(c *Case) string {
	if c.Flow() {
		return "every action"
	}
	return "the action"
}

// threw describes a throw with the first place in the action's code it
// went through.
func threw(c *Case, e *node.Error) string {
	s := "threw " + e.Error()
	if c.Flow() {
		s = e.Action + " " + s
	}
	if at := firstFrame(e.Stack); at != "" {
		s += " (at " + at + ")"
	}
	return s
}

// firstFrame is the place of the stack's first frame: file:line:column.
func firstFrame(stack string) string {
	for _, line := range strings.Split(stack, "\n") {
		t, ok := strings.CutPrefix(strings.TrimSpace(line), "at ")
		if !ok {
			continue
		}
		if i := strings.LastIndex(t, " ("); i >= 0 && strings.HasSuffix(t, ")") {
			t = t[i+2 : len(t)-1]
		}
		return t
	}
	return ""
}

// compareCalls names the first call that differs, or returns "".
func compareCalls(c *Case, want []Call, got []node.Call) string {
	for i := 0; i < max(len(want), len(got)); i++ {
		switch {
		case i >= len(got):
			return fmt.Sprintf("call %d: want %s, got no call (%s)", i+1, want[i], made(got))
		case i >= len(want) && len(want) == 0:
			return fmt.Sprintf("want no api call, got %s", gotString(c, got[i]))
		case i >= len(want):
			return fmt.Sprintf("call %d: got %s, want no more calls (%d expected)", i+1, gotString(c, got[i]), len(want))
		case !sameCall(want[i], got[i]):
			return fmt.Sprintf("call %d: got %s, want %s", i+1, gotString(c, got[i]), want[i])
		}
	}
	return ""
}

func made(got []node.Call) string {
	if len(got) == 1 {
		return "the code made 1"
	}
	return fmt.Sprintf("the code made %d", len(got))
}

func sameCall(want Call, got node.Call) bool {
	var args []any
	if json.Unmarshal(got.Args, &args) != nil {
		return false
	}
	return want.Method == got.Method && reflect.DeepEqual(want.Args, args)
}

// gotString shows a call the code made, with its action in a flow.
func gotString(c *Case, call node.Call) string {
	var args []any
	json.Unmarshal(call.Args, &args)
	s := callString(call.Method, args)
	if c.Flow() {
		s += " from " + call.Action
	}
	return s
}
