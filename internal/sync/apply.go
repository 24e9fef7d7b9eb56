package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/actionsync/actionsync/internal/backoff"
	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
	"github.com/actionsync/actionsync/internal/transport"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

const (
	// createAttempts bounds the creates of one action in one round.
	createAttempts = 5
	// deployAttempts bounds the deploys of one draft in one round: a deploy
	// answered "not built" (another writer changed the draft after it was
	// seen built) waits for the build again.
	deployAttempts = 3
	// MaxReplans bounds the plans Apply makes again from a fresh read when
	// the tenant changed under it.
	MaxReplans = 3
)

// Apply makes the plan's changes, and plans again from a fresh read when
// the tenant changed under it (see the package doc), MaxReplans times at
// most. A step that fails leaves what it did not touch as it was; the
// others go on. The error joins a *StepError for every failed step.
func (e *Engine) Apply(ctx context.Context, p *Plan) (*Result, error) {
	res := &Result{Revision: p.Revision, Plan: p.Changes, Applied: []StepResult{}, Reads: p.Reads}
	g := e.gating(p)
	defer func() { res.Tests = g.report() }()
	for cur := p; !cur.Changes.Empty(); {
		applied := e.applyRound(ctx, cur, g)
		stale := slices.ContainsFunc(applied, StepResult.stale)
		if !stale || res.Replans == MaxReplans || ctx.Err() != nil {
			res.Applied = append(res.Applied, applied...)
			break
		}
		res.Applied = append(res.Applied, slices.DeleteFunc(applied, StepResult.stale)...)
		res.Replans++
		e.log.Warn("the tenant changed under this run; planning again from a fresh read", "commit", p.Revision, "replan", res.Replans)
		next, err := e.planFrom(ctx, p.Revision, p.desired)
		if err != nil {
			return res, errors.Join(stepErrors(res.Applied), fmt.Errorf("plan again: %w", err))
		}
		res.Reads += next.Reads
		next.cases = p.cases
		cur = next
	}
	return res, stepErrors(res.Applied)
}

// run is one round of Apply: one plan's steps, the build waits' watcher,
// and the slots that bound the requests in flight.
type run struct {
	*Engine
	plan    *Plan
	log     *slog.Logger
	reader  *live.Reader
	watch   *watcher
	slots   chan struct{}
	modules *modules
	gate    *gating // nil without Options.Gate
}

// applyRound makes one plan's changes as a pipeline: every module's and
// every action's write at once (paced by the slots and the rate limit), an
// action that uses a module written once its version is published, each
// action deployed as soon as its build is seen done (and, under a Gate, its
// cases pass), each trigger's bindings once the actions it names are done,
// then the deletes: actions', then modules'.
func (e *Engine) applyRound(ctx context.Context, p *Plan, g *gating) []StepResult {
	r, ctx, stop := e.start(ctx, p, g)
	defer stop()
	return r.apply(ctx)
}

// start starts a round's run on p, and its watcher until stop.
func (e *Engine) start(ctx context.Context, p *Plan, g *gating) (*run, context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	r := &run{Engine: e, plan: p, log: e.log.With("commit", p.Revision), reader: live.NewReader(e.api), slots: make(chan struct{}, e.opts.Parallel), gate: g}
	r.watch = newWatcher(r)
	go r.watch.loop(ctx)
	return r, ctx, func() { cancel(); <-r.watch.done }
}

func (r *run) apply(ctx context.Context) []StepResult {
	steps := r.plan.Changes.Steps
	out := make([]StepResult, len(steps))
	r.modules = newModules(steps, out)
	finished := map[string]chan struct{}{} // closed once the action's step is done
	for _, s := range steps {
		if s.Action != "" && s.Kind != diff.Delete {
			finished[s.Action] = make(chan struct{})
		}
	}
	// outcome waits for the step of the action called name, if the plan
	// has one, and returns its error.
	outcome := func(name string) (bool, error) {
		i := slices.IndexFunc(steps, func(s diff.Step) bool { return s.Action == name && s.Kind != diff.Delete })
		if i < 0 {
			return false, nil
		}
		select {
		case <-finished[name]:
			return true, out[i].Err
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
	var wg gosync.WaitGroup
	for i, s := range steps {
		switch s.Kind {
		case diff.Delete, diff.ModuleDelete:
		case diff.ModuleCreate, diff.ModuleAdopt, diff.ModuleUpdate, diff.ModuleRollback:
			wg.Go(func() {
				defer close(r.modules.done[s.Module])
				out[i] = r.guard(s, func() StepResult { return r.applyModule(ctx, s) })
			})
		case diff.Bind:
			wg.Go(func() { out[i] = r.guard(s, func() StepResult { return r.bind(ctx, s, outcome) }) })
		default:
			wg.Go(func() {
				defer close(finished[s.Action])
				out[i] = r.guard(s, func() StepResult { return r.applyAction(ctx, s) })
			})
		}
	}
	flows := r.flowSteps(ctx, &wg, outcome)
	wg.Wait()
	r.deletes(ctx, steps, out)
	return append(out, flows...)
}

// deletes runs the delete steps, last: an action's delete waits for the
// bindings that unbind it, and a module's for every action step (and
// action delete) that stops using it. When a step before them is to be
// planned again, so are they.
func (r *run) deletes(ctx context.Context, steps []diff.Step, out []StepResult) {
	for _, kind := range []diff.Kind{diff.Delete, diff.ModuleDelete} {
		replan := slices.ContainsFunc(out, StepResult.stale)
		var wg gosync.WaitGroup
		for i, s := range steps {
			switch {
			case s.Kind != kind:
			case replan:
				out[i] = StepResult{Kind: s.Kind, Subject: s.Action + s.Module, Err: stale("a step before it is planned again")}
			case kind == diff.Delete:
				wg.Go(func() { out[i] = r.guard(s, func() StepResult { return r.delete(ctx, s) }) })
			default:
				wg.Go(func() { out[i] = r.guard(s, func() StepResult { return r.deleteModule(ctx, s) }) })
			}
		}
		wg.Wait()
	}
}

// guard runs one step. A bug in it fails that step, not the process:
// main's recover cannot reach this goroutine, and a crash exits 2, which a
// dry run's caller reads as "changes pending".
func (r *run) guard(s diff.Step, step func() StepResult) (res StepResult) {
	subject := s.Action
	switch {
	case s.Kind == diff.Bind || s.Kind == FlowTest:
		subject = s.Trigger
	case s.Kind.IsModule():
		subject = s.Module
	}
	defer func() {
		if p := recover(); p != nil {
			res = StepResult{Kind: s.Kind, Subject: subject, Err: fmt.Errorf("internal error: %v", p)}
			r.log.Error("step panicked", "step", string(s.Kind), "subject", subject, "panic", p)
		}
	}()
	return step()
}

// call makes one request (or one paged read), holding one of the
// Options.Parallel slots while it is in flight.
func (r *run) call(ctx context.Context, fn func() error) error {
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.slots }()
	return fn()
}

func (r *run) applyAction(ctx context.Context, s diff.Step) StepResult {
	log := r.log.With("action", s.Action, "step", string(s.Kind))
	v, err := r.actionStep(ctx, log, r.plan.desired.Action(s.Action), s)
	if err != nil {
		log.Error("step failed", "err", err)
	} else {
		log.Info("step done", "version", v)
	}
	return StepResult{Kind: s.Kind, Subject: s.Action, Version: v, Err: err}
}

// actionStep brings one action to the commit and returns the number of the
// version it deployed. An action that uses modules first waits for their
// steps: it pins the versions they make. Under a Gate a rollback is written
// as an update, so that the draft deployed is one its cases ran on.
func (r *run) actionStep(ctx context.Context, log *slog.Logger, a *manifest.Action, s diff.Step) (int, error) {
	pins, err := r.pins(ctx, a)
	if err != nil {
		return 0, err
	}
	if s.Kind == diff.Rollback && r.gate == nil {
		return r.rollback(ctx, s)
	}
	d, err := r.writeDraft(ctx, log, a, s, pins)
	if err != nil {
		return 0, err
	}
	return r.deployWhenBuilt(ctx, a, d)
}

// draft is an action's draft as a step left it: the action's id, the
// module versions it pins, and when it was written (zero for a draft
// already the commit's and read built, which needs no wait).
type draft struct {
	id    string
	pins  []diff.Pin
	since time.Time
}

// writeDraft brings a's draft to the commit (a rollback as an update),
// pinning pins.
func (r *run) writeDraft(ctx context.Context, log *slog.Logger, a *manifest.Action, s diff.Step, pins []diff.Pin) (draft, error) {
	switch s.Kind {
	case diff.Create:
		id, err := r.create(ctx, log, a, pins)
		return draft{id, pins, time.Now()}, err
	case diff.Update, diff.Adopt, diff.Rollback:
		err := r.call(ctx, func() error { return r.api.Update(ctx, s.ActionID, r.changes(a, pins, s.Fields)) })
		if err != nil {
			return draft{}, fmt.Errorf("update: %w", staleIfGone(err))
		}
		return draft{s.ActionID, pins, time.Now()}, nil
	}
	// A deploy of a draft that already matches, with the pins it has: as
	// read, it may be built.
	l := r.plan.live.Action(a.Name)
	d := draft{s.ActionID, diff.DraftPins(l), time.Now()}
	if l.Status == tenant.StatusBuilt {
		d.since = time.Time{}
	}
	return d, nil
}

// rollback deploys an earlier version, the draft following it.
func (r *run) rollback(ctx context.Context, s diff.Step) (int, error) {
	var v *management.ActionVersion
	err := r.call(ctx, func() (err error) {
		// go-auth0 sends no body; the draft must follow the rollback.
		v, err = r.api.DeployVersion(ctx, s.ActionID, s.Version.ID, management.Body([]byte(`{"update_draft":true}`)))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("roll back to version %d: %w", s.Version.Number, staleIfGone(err))
	}
	return v.Number, r.confirmDeployed(ctx, s.ActionID, v)
}

// deployWhenBuilt waits for the draft d to be built (no wait when it was
// read built), then, once a Gate passes its cases, deploys it.
func (r *run) deployWhenBuilt(ctx context.Context, a *manifest.Action, d draft) (int, error) {
	id, since := d.id, d.since
	var err error
	for range deployAttempts {
		if !since.IsZero() {
			if err := r.watch.await(ctx, id, since, true, r.builtCheck(a, d.pins)); err != nil {
				return 0, err
			}
		}
		if err := r.testAction(ctx, a, id); err != nil {
			return 0, err
		}
		var v *management.ActionVersion
		var n int
		v, n, err = r.deploy(ctx, a, id, d.pins)
		switch {
		case err == nil && v == nil:
			return n, nil
		case err == nil:
			return v.Number, r.confirmDeployed(ctx, id, v)
		case !isStatus(err, http.StatusBadRequest):
			return 0, fmt.Errorf("deploy: %w", staleIfGone(err))
		}
		// Not built: another writer changed the draft after it was seen
		// built, or the read that said built is old. Wait for the build.
		since = time.Now()
	}
	return 0, fmt.Errorf("deploy: %w", staleIfGone(err))
}

// deploy deploys the draft of the action id, which holds a. A deploy whose
// answer was lost may have been made: before it is sent again the action
// is read, and when its deployed version is the draft, that version is
// the answer (its number, and a nil version) rather than one more version
// of the same content.
func (r *run) deploy(ctx context.Context, a *manifest.Action, id string, pins []diff.Pin) (*management.ActionVersion, int, error) {
	var err error
	for attempt := range resends {
		if attempt > 0 {
			if n, ok := r.deployedMeanwhile(ctx, a, id, pins); ok {
				r.log.Info("a deploy whose answer was lost was made", "action", a.Name, "version", n)
				return nil, n, nil
			}
			if err := backoff.Sleep(ctx, backoff.Request.Delay(attempt-1)); err != nil {
				return nil, 0, err
			}
		}
		var v *management.ActionVersion
		err = r.call(ctx, func() (err error) { v, err = r.api.Deploy(ctx, id); return err })
		if err == nil || !unanswered(ctx, err) {
			return v, 0, err
		}
	}
	return nil, 0, err
}

// deployedMeanwhile reads the action id and reports whether its draft is
// still a's (this run's) and deployed, with the deployed version's number.
func (r *run) deployedMeanwhile(ctx context.Context, a *manifest.Action, id string, pins []diff.Pin) (int, bool) {
	var l *tenant.Action
	if err := r.call(ctx, func() (err error) { l, err = r.reader.Action(ctx, id); return err }); err != nil {
		return 0, false
	}
	if !diff.DraftMatches(a, l, r.planOptions(r.plan.desired), pins) || !diff.DraftDeployed(l) {
		return 0, false
	}
	return l.Deployed.Number, true
}

// unanswered reports whether err leaves unknown whether the tenant did
// what was asked: no answer, or a 5xx.
func unanswered(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var me management.Error
	return !errors.As(err, &me) || me.Status() >= 500
}

// builtCheck says whether a's draft, as listed, is built; a draft that is
// no longer what this run wrote (pinning pins) was replaced by another
// writer.
func (r *run) builtCheck(a *manifest.Action, pins []diff.Pin) func(*tenant.Action) (bool, error) {
	return func(l *tenant.Action) (bool, error) {
		if !diff.DraftMatches(a, l, r.planOptions(r.plan.desired), pins) {
			return false, stale("the draft of %s was replaced by another writer", a.Name)
		}
		switch l.Status {
		case tenant.StatusBuilt:
			return true, nil
		case tenant.StatusFailed:
			return false, fmt.Errorf("%w: %s", ErrBuildFailed, strings.Join(l.BuildErrors, "; "))
		}
		return false, nil
	}
}

// confirmDeployed returns once version v is the action's deployed one. A
// deploy (or rollback) that answers with the version built is taken at its
// word, at no cost: Auth0 documents that the tenant runs the new version
// at once, though the answer itself says "deployed": false (the recorded
// answers do). Any other answer is waited on, and a newer version deployed
// meanwhile means another writer replaced it.
func (r *run) confirmDeployed(ctx context.Context, id string, v *management.ActionVersion) error {
	if v.Deployed || tenant.BuildStatus(v.GetStatus()) == tenant.StatusBuilt {
		return nil
	}
	return r.watch.await(ctx, id, time.Now(), false, func(l *tenant.Action) (bool, error) {
		switch {
		case l.Deployed == nil:
			return false, nil
		case l.Deployed.ID == v.GetID():
			return true, nil
		case l.Deployed.Number > v.Number:
			return false, stale("version %d was replaced by version %d", v.Number, l.Deployed.Number)
		}
		return false, nil
	})
}

// create makes the action. A create is never sent twice without looking
// the action up by name first: after a failed create a found action is
// updated instead, and a missing one is created again, createAttempts times
// at most. A permanent answer ends it at once; a 409 means another writer
// created the action since the plan read the tenant.
func (r *run) create(ctx context.Context, log *slog.Logger, a *manifest.Action, pins []diff.Pin) (string, error) {
	all := []tenant.Field{tenant.FieldCode, tenant.FieldDependencies, tenant.FieldRuntime, tenant.FieldSecrets, tenant.FieldOwner}
	if len(pins) > 0 {
		all = append(all, tenant.FieldModules)
	}
	var err error
	for attempt := range createAttempts {
		if attempt > 0 {
			if err := backoff.Sleep(ctx, r.opts.Poll<<attempt); err != nil {
				return "", err
			}
		}
		body := r.changes(a, pins, all)
		if err = r.call(ctx, func() error { return r.api.Create(ctx, body) }); err == nil {
			return body.GetID(), nil
		}
		switch {
		case isStatus(err, http.StatusConflict):
			return "", stale("create answered 409: another writer created %s", a.Name)
		case permanent(err):
			return "", fmt.Errorf("create: %w", err)
		}
		var found *management.Action
		if lerr := r.call(ctx, func() (err error) { found, err = r.findByName(ctx, a.Name); return err }); lerr != nil {
			return "", fmt.Errorf("create: %w (and looking it up: %v)", err, lerr)
		}
		if found != nil {
			log.Warn("create answered an error but the action exists; updating it instead", "err", err)
			uerr := r.call(ctx, func() error { return r.api.Update(ctx, found.GetID(), r.changes(a, pins, all)) })
			return found.GetID(), staleIfGone(uerr)
		}
		log.Warn("create failed and the action does not exist; trying again", "err", err)
	}
	return "", fmt.Errorf("create: %w", err)
}

func (r *run) findByName(ctx context.Context, name string) (*management.Action, error) {
	l, err := r.api.List(ctx, management.Parameter("actionName", name))
	if err != nil {
		return nil, err
	}
	for _, a := range l.Actions {
		if a.GetName() == name {
			return a, nil
		}
	}
	return nil, nil
}

// changes is the body of a create or update with the given fields, pinning
// pins. go-auth0 always sends name and supported_triggers, so they are
// always set.
// writesCode reports whether writing fields sends the code: the stamp
// line in it carries the secrets' fingerprints and the owner.
func writesCode(fields []tenant.Field) bool {
	return slices.ContainsFunc(fields, func(f tenant.Field) bool {
		return f == tenant.FieldCode || f == tenant.FieldSecrets || f == tenant.FieldOwner
	})
}

func (r *run) changes(a *manifest.Action, pins []diff.Pin, fields []tenant.Field) *management.Action {
	body := &management.Action{
		Name:              auth0.String(a.Name),
		SupportedTriggers: []management.ActionTrigger{{ID: auth0.String(a.Trigger.ID), Version: auth0.String(a.Trigger.Version)}},
	}
	if writesCode(fields) {
		body.Code = auth0.String(r.code(a))
	}
	if slices.Contains(fields, tenant.FieldDependencies) {
		body.Dependencies = dependencies(a.Dependencies)
	}
	if slices.Contains(fields, tenant.FieldRuntime) {
		body.Runtime = auth0.String(a.Runtime)
	}
	if slices.Contains(fields, tenant.FieldSecrets) {
		body.Secrets = secrets(a.Secrets)
	}
	if slices.Contains(fields, tenant.FieldModules) {
		body.Modules = modulePins(pins)
	}
	return body
}

// code is what is uploaded for a: its code, stamped with the owner, the
// commit and the secrets' fingerprints.
func (r *run) code(a *manifest.Action) string {
	return stamp.For(a, r.plan.Owner, r.plan.Revision, r.opts.SecretKey).Code(a.Code)
}

// bind writes a trigger's whole order, once every action it names is done,
// planned again from its bindings as read just before the write: what
// another writer bound meanwhile is seen. An action whose step failed
// keeps the binding it has: bound where the commit puts it if it is bound,
// unbound if it is not. When an action it names is to be planned again, so
// is the trigger.
func (r *run) bind(ctx context.Context, s diff.Step, outcome func(string) (bool, error)) StepResult {
	res := StepResult{Kind: diff.Bind, Subject: s.Trigger}
	names := make([]string, len(s.Bindings))
	for i, b := range s.Bindings {
		names[i] = b.Action
	}
	failed, err := awaitSteps(names, outcome)
	if err == nil {
		err = r.testFlow(ctx, s.Trigger, failed)
	}
	if res.Err = err; err != nil {
		return res
	}
	for attempt := range resends {
		if attempt > 0 {
			if res.Err = backoff.Sleep(ctx, backoff.Request.Delay(attempt-1)); res.Err != nil {
				return res
			}
		}
		var bs []*management.ActionBinding
		var took time.Duration
		bs, took, res.Err = r.writeBindings(ctx, s.Trigger, failed)
		switch {
		case res.Err == nil && bs == nil:
			return res
		case res.Err == nil:
			res.Err = r.checkBindings(ctx, s.Trigger, bs, settle(took))
			return res
		case errors.Is(res.Err, errReadAged):
			r.log.Info("reading the bindings again: the write waited", "trigger", s.Trigger, "err", res.Err)
			continue
		case !isStatus(res.Err, http.StatusTooManyRequests) && !unanswered(ctx, res.Err):
			r.log.Error("bind failed", "trigger", s.Trigger, "err", res.Err)
			return res
		}
		// Refused for the rate limit, or unanswered: the list is read and
		// planned again before it is sent again, not sent as it was read
		// before the wait (another writer's may have landed meanwhile).
	}
	r.log.Error("bind failed", "trigger", s.Trigger, "err", res.Err)
	return res
}

// resends bounds the sends of a write that is not sent again as it was
// (a draft's deploy, a trigger's bindings) after an attempt that got no
// answer, a 5xx or (for bindings) a 429: as many as the transport sends of
// any other request.
const resends = 8

// writeBindings writes the trigger's order, planned from its bindings as
// read just before: the list it wrote and the time from that read to the
// write's answer, or a nil list when the bindings already are the
// commit's.
func (r *run) writeBindings(ctx context.Context, trigger string, failed map[string]bool) ([]*management.ActionBinding, time.Duration, error) {
	var fresh []tenant.Binding
	if err := r.call(ctx, func() (err error) { fresh, err = r.reader.Bindings(ctx, trigger); return err }); err != nil {
		return nil, 0, err
	}
	step, ok := diff.PlanTrigger(r.plan.desired.Trigger(trigger), r.plan.desired, r.plan.live.WithBindings(trigger, fresh), r.plan.Owner)
	if !ok {
		r.log.Info("the bindings already are the commit's", "trigger", trigger)
		return nil, 0, nil
	}
	bs := r.order(trigger, step, failed)
	read := time.Now()
	send := transport.WithBeforeSend(ctx, func() error {
		if age := time.Since(read); age > maxReadAge {
			return fmt.Errorf("%w (%v)", errReadAged, age.Round(time.Millisecond))
		}
		return nil
	})
	err := r.call(ctx, func() error { return r.api.UpdateBindings(send, trigger, bs) })
	return bs, time.Since(read), err
}

// maxReadAge bounds the time from a trigger's bindings as read to the
// write planned from them being sent: a write held longer (by the rate
// limit, a tenant's reset, the slots) is not sent, and the list is read
// again. Another writer's list so lands within maxReadAge and a round
// trip of its read, and a read-back after settle sees it.
const maxReadAge = time.Second

// errReadAged is the error of a bindings write not sent because the list
// it was planned from is older than maxReadAge.
var errReadAged = errors.New("the bindings read is too old to write from")

// maxSettle bounds the wait before a bindings write is read back.
const maxSettle = 5 * time.Second

// settle is how long a bindings write is left before it is read back,
// given how long it took from the list's read to the write's answer. The
// Management API has no compare-and-swap on a trigger's bindings: another
// writer that read the list just before this write replaces it with one
// that lacks this run's bindings as soon as its own write lands, which is
// at most maxReadAge and a trip to the tenant after its read (an
// actionsync writer sends no older list). Waiting that long, and the time
// this write took (a trip at least), covers it.
func settle(write time.Duration) time.Duration { return min(maxReadAge+write, maxSettle) }

// checkBindings reads a trigger's bindings back after wait and, when the
// list written is no longer in them, in its order, returns ErrStale: a
// second writer replaced it from a read made before this write, and Apply
// plans again from a fresh read instead of exiting 0 with a binding lost.
func (r *run) checkBindings(ctx context.Context, trigger string, wrote []*management.ActionBinding, wait time.Duration) error {
	if err := backoff.Sleep(ctx, wait); err != nil {
		return err
	}
	var now []tenant.Binding
	if err := r.call(ctx, func() (err error) { now, err = r.reader.Bindings(ctx, trigger); return err }); err != nil {
		return fmt.Errorf("read the bindings back: %w", err)
	}
	i := 0
	for _, b := range now {
		if i < len(wrote) && b.Action == wrote[i].GetRef().GetValue() {
			i++
		}
	}
	if i < len(wrote) {
		names := make([]string, len(now))
		for j, b := range now {
			names[j] = b.Action
		}
		r.log.Warn("another writer replaced the bindings just written", "trigger", trigger, "now", names)
		return stale("another writer replaced the bindings of %s just after this run wrote them (now %s)", trigger, strings.Join(names, ", "))
	}
	return nil
}

// order is the list to write: the step's, but for failed actions that are
// not bound now.
func (r *run) order(trigger string, step diff.Step, failed map[string]bool) []*management.ActionBinding {
	bs := []*management.ActionBinding{}
	for _, b := range step.Bindings {
		if failed[b.Action] && !slices.ContainsFunc(step.Previous, func(p diff.Binding) bool { return p.Action == b.Action }) {
			r.log.Warn("not binding an action whose step failed", "trigger", trigger, "action", b.Action)
			continue
		}
		bs = append(bs, &management.ActionBinding{
			Ref:         &management.ActionBindingReference{Type: auth0.String(management.ActionBindingReferenceByName), Value: auth0.String(b.Action)},
			DisplayName: auth0.String(b.DisplayName),
		})
	}
	return bs
}

func (r *run) delete(ctx context.Context, s diff.Step) StepResult {
	res := StepResult{Kind: diff.Delete, Subject: s.Action}
	err := r.call(ctx, func() error { return r.api.Delete(ctx, s.ActionID) })
	if isStatus(err, http.StatusNotFound) {
		err = nil // already gone: a repeated delete converges
	}
	if res.Err = err; err != nil {
		r.log.Error("delete failed", "action", s.Action, "err", err)
	}
	return res
}
