package sync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/actionsync/actionsync/internal/actiontest"
	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/tenant"
)

// Gate is the check of a tested deploy (--test): it runs the commit's test
// cases on the tenant's built drafts. remote.Gate runs them through the
// Management API's test endpoint. Under a Gate, Plan loads the commit's
// cases (a broken case file fails the plan) and Apply runs, within its
// pipeline:
//
//   - an action's own cases once its draft is built, before its deploy:
//     when any fails or errs the action is not deployed (its step fails
//     with ErrTestsFailed), so it keeps its live version, and each trigger
//     that binds it keeps it where it is bound, as after a failed build;
//     the other actions go on;
//   - a trigger's flow cases once every action it binds is done, before its
//     bindings are written: when any fails or errs the bindings are not
//     written (the bind step fails with ErrTestsFailed). A trigger whose
//     order does not change but which binds an action that changed has its
//     flow cases run at that point too, as a result of kind FlowTest, which
//     holds nothing back (the actions are deployed by then) but fails the
//     run. When an action the flow binds is not deployed (held back, or its
//     step failed), the flow the commit describes does not run on the
//     tenant, and its cases are skipped.
//
// A rollback is written as an update (one build) so that its draft can be
// tested before it is deployed. Skipped cases hold nothing back; an action
// without cases deploys as without a Gate.
type Gate interface {
	// Test runs cases on the drafts whose tenant ids ids gives, by action
	// name, and reports how each ended; a case it cannot run is skipped,
	// with why. No result holds a secret value. It is called concurrently.
	Test(ctx context.Context, cases *actiontest.Suite, ids map[string]string) *actiontest.Report
}

// ErrTestsFailed is wrapped by the error of a step a Gate held back: an
// action whose cases failed is not deployed; a trigger whose flow cases
// failed keeps its bindings.
var ErrTestsFailed = errors.New("test cases failed")

// FlowTest is the kind of the StepResult of a trigger's flow cases under a
// Gate when the plan writes no bindings for that trigger. It is no step of
// the plan: Apply adds it after the plan's steps.
const FlowTest diff.Kind = "test"

// Cases are the commit's test cases, loaded by Plan under a Gate; nil
// otherwise.
func (p *Plan) Cases() *actiontest.Suite { return p.cases }

func (e *Engine) loadCases(fsys fs.FS, desired *manifest.Repo) (*actiontest.Suite, error) {
	if e.opts.Gate == nil {
		return nil, nil
	}
	return actiontest.Load(fsys, desired)
}

// gating is one Apply's tested deploy: the cases, the ids of the actions
// it created, and what the cases did, across its rounds.
type gating struct {
	gate  Gate
	cases *actiontest.Suite

	mu      gosync.Mutex
	created map[string]string
	results map[*actiontest.Case]actiontest.Result
	took    time.Duration
}

// gating returns p's tested deploy, or nil without a Gate.
func (e *Engine) gating(p *Plan) *gating {
	if e.opts.Gate == nil || p.cases == nil {
		return nil
	}
	return &gating{gate: e.opts.Gate, cases: p.cases, created: map[string]string{}, results: map[*actiontest.Case]actiontest.Result{}}
}

// ids are the tenant's ids of every action, by name: as read, and as
// created since.
func (g *gating) ids(st *tenant.State) map[string]string {
	out := map[string]string{}
	for _, a := range st.Actions {
		out[a.Name] = a.ID
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	maps.Copy(out, g.created)
	return out
}

func (g *gating) record(rep *actiontest.Report) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, res := range rep.Results {
		g.results[res.Case] = res // a case run again in a later round: its last result
	}
	g.took += rep.Duration
}

// report is what the cases did, in the suite's order; nil without a Gate.
func (g *gating) report() *actiontest.Report {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	rep := &actiontest.Report{Results: []actiontest.Result{}, Duration: g.took}
	for _, c := range g.cases.Cases {
		if res, ok := g.results[c]; ok {
			rep.Results = append(rep.Results, res)
		}
	}
	return rep
}

// testAction runs a's own cases on its built draft, id, before its
// deploy; the error holds the deploy back.
func (r *run) testAction(ctx context.Context, a *manifest.Action, id string) error {
	if r.gate == nil {
		return nil
	}
	r.gate.mu.Lock()
	r.gate.created[a.Name] = id
	r.gate.mu.Unlock()
	cases := r.gate.cases.Filter(func(c *actiontest.Case) bool { return c.Action == a.Name })
	return r.judge(ctx, cases, "action", a.Name)
}

// testFlow runs trigger's flow cases before its bindings are written;
// failed names the actions of the flow that are not deployed.
func (r *run) testFlow(ctx context.Context, trigger string, failed map[string]bool) error {
	if r.gate == nil {
		return nil
	}
	cases := r.gate.cases.Filter(func(c *actiontest.Case) bool { return c.Flow() && c.Trigger == trigger })
	if len(cases.Cases) == 0 {
		return nil
	}
	for _, name := range cases.Bound(trigger) {
		if failed[name] {
			r.log.Warn("flow cases skipped: an action of the flow is not deployed", "trigger", trigger, "action", name)
			r.gate.record(cases.Skip(fmt.Sprintf("%s is not deployed by this run (its cases or its step failed), so the flow the commit describes does not run on the tenant", name)))
			return nil
		}
	}
	return r.judge(ctx, cases, "flow", trigger)
}

// judge runs cases through the Gate, records what they did, and returns
// ErrTestsFailed, with the cases and why, when any failed or erred.
func (r *run) judge(ctx context.Context, cases *actiontest.Suite, kind, subject string) error {
	if len(cases.Cases) == 0 {
		return nil
	}
	log := r.log.With(kind, subject)
	rep := r.gate.gate.Test(ctx, cases, r.gate.ids(r.plan.live))
	r.gate.record(rep)
	if rep.Passed() {
		log.Info("test cases passed", "summary", rep.Summary())
		return nil
	}
	var why []string
	for _, res := range rep.Results {
		if res.Failed() {
			log.Warn("test case failed", "case", res.Case.Name, "file", res.Case.File, "line", res.Case.Line,
				"reason", oneLine(res.Reason, 1000), "logs", logText(res))
			why = append(why, fmt.Sprintf("%q: %s", res.Case.Name, oneLine(res.Reason, 300)))
		}
	}
	return fmt.Errorf("%w (%d of %d): %s", ErrTestsFailed, len(why), len(rep.Results), strings.Join(why, "; "))
}

// flowSteps starts, under a Gate, the flow cases of each trigger the plan
// writes no bindings for but which binds an action the plan changes; each
// ends as a FlowTest result, filled in once wg is done.
func (r *run) flowSteps(ctx context.Context, wg *gosync.WaitGroup, outcome func(string) (bool, error)) []StepResult {
	if r.gate == nil {
		return nil
	}
	var triggers []string
	for _, t := range r.plan.desired.Triggers {
		if r.changesFlow(t.ID) {
			triggers = append(triggers, t.ID)
		}
	}
	out := make([]StepResult, len(triggers))
	for i, t := range triggers {
		s := diff.Step{Kind: FlowTest, Trigger: t}
		wg.Go(func() { out[i] = r.guard(s, func() StepResult { return r.flowStep(ctx, t, outcome) }) })
	}
	return out
}

// changesFlow reports whether trigger has flow cases, no bind step, and a
// bound action with a step.
func (r *run) changesFlow(trigger string) bool {
	steps := r.plan.Changes.Steps
	if slices.ContainsFunc(steps, func(s diff.Step) bool { return s.Kind == diff.Bind && s.Trigger == trigger }) ||
		!slices.ContainsFunc(r.gate.cases.Cases, func(c *actiontest.Case) bool { return c.Flow() && c.Trigger == trigger }) {
		return false
	}
	return slices.ContainsFunc(r.gate.cases.Bound(trigger), func(name string) bool {
		return slices.ContainsFunc(steps, func(s diff.Step) bool { return s.Action == name && s.Kind != diff.Delete })
	})
}

func (r *run) flowStep(ctx context.Context, trigger string, outcome func(string) (bool, error)) StepResult {
	res := StepResult{Kind: FlowTest, Subject: trigger}
	failed, err := awaitSteps(r.gate.cases.Bound(trigger), outcome)
	if err == nil {
		err = r.testFlow(ctx, trigger, failed)
	}
	res.Err = err
	return res
}

// awaitSteps waits for the steps of the named actions and says which
// failed; when one is to be planned again, so is what waits on it.
func awaitSteps(names []string, outcome func(string) (bool, error)) (map[string]bool, error) {
	failed := map[string]bool{}
	for _, name := range names {
		ok, err := outcome(name)
		if ok && isStale(err) {
			return nil, stale("%s is planned again", name)
		}
		failed[name] = ok && err != nil
	}
	return failed, nil
}

// oneLine folds s onto one line of at most n bytes, control characters
// shown as spaces: a reason quotes what the code printed or threw.
func oneLine(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

// logText is a case's console output on one line, for the log.
func logText(res actiontest.Result) string {
	lines := make([]string, len(res.Logs))
	for i, l := range res.Logs {
		lines[i] = l.Text
	}
	return oneLine(strings.Join(lines, " | "), 2000)
}
