package sync

import (
	"context"
	"slices"
	gosync "sync"

	"github.com/actionsync/actionsync/internal/diff"
)

// Drafts brings the drafts of the named actions (every action the plan
// changes, when none is named) to the commit and waits for their builds,
// deploying nothing and binding nothing: what testing the commit's code on
// the tenant needs (actionsync test --remote). It writes as Apply does,
// through the same pipeline: a new action is created (and stays
// undeployed and unbound), a changed one updated, a rollback written as an
// update. It returns the tenant's id of every action, by name (those the
// plan leaves alone included), and, by name, why each action whose draft
// could not be written or built has none. It plans nothing again: a step
// that finds the tenant changed under it is an error (ErrStale).
func (e *Engine) Drafts(ctx context.Context, p *Plan, names ...string) (map[string]string, map[string]error) {
	r, ctx, stop := e.start(ctx, p, nil)
	defer stop()
	ids := map[string]string{}
	for _, a := range p.live.Actions {
		ids[a.Name] = a.ID
	}
	failed := map[string]error{}
	var mu gosync.Mutex
	var wg gosync.WaitGroup
	// The modules the drafts pin are written and published first, as Apply
	// does: an action's draft waits for its modules' steps.
	out := make([]StepResult, len(p.Changes.Steps))
	r.modules = newModules(p.Changes.Steps, out)
	for i, s := range p.Changes.Steps {
		if _, ok := r.modules.done[s.Module]; ok && s.Kind.IsModule() {
			wg.Go(func() {
				defer close(r.modules.done[s.Module])
				out[i] = r.guard(s, func() StepResult { return r.applyModule(ctx, s) })
			})
		}
	}
	for _, s := range p.Changes.Steps {
		if s.Action == "" || s.Kind == diff.Bind || s.Kind == diff.Delete || len(names) > 0 && !slices.Contains(names, s.Action) {
			continue
		}
		wg.Go(func() {
			id, err := r.draft(ctx, s)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed[s.Action] = err
				delete(ids, s.Action) // its draft is not the commit's
				return
			}
			ids[s.Action] = id
		})
	}
	wg.Wait()
	return ids, failed
}

// draft writes s's draft and waits for its build.
func (r *run) draft(ctx context.Context, s diff.Step) (string, error) {
	log := r.log.With("action", s.Action, "step", "draft")
	a := r.plan.desired.Action(s.Action)
	pins, err := r.pins(ctx, a)
	var d draft
	if err == nil {
		d, err = r.writeDraft(ctx, log, a, s, pins)
	}
	if err == nil && !d.since.IsZero() {
		err = r.watch.await(ctx, d.id, d.since, true, r.builtCheck(a, d.pins))
	}
	if err != nil {
		log.Error("draft failed", "err", err)
		return "", err
	}
	log.Info("draft built")
	return d.id, nil
}
