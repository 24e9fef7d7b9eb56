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
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

// createAttempts bounds the creates of one action in one run.
const createAttempts = 5

// run is the state of one Apply: the build waits' shared listing.
type run struct {
	*Engine
	plan   *Plan
	log    *slog.Logger
	reader *live.Reader
	cache  *statusCache
}

// Apply makes the plan's changes: actions first (bounded in parallel), then
// each trigger's bindings once every action it names is deployed, then
// deletes. A step that fails leaves what it did not touch as it was; the
// others go on. The error joins a *StepError for every failed step.
func (e *Engine) Apply(ctx context.Context, p *Plan) (*Result, error) {
	res := &Result{Revision: p.Revision, Plan: p.Changes, Applied: []StepResult{}, Reads: p.Reads}
	if p.Changes.Empty() {
		return res, nil
	}
	r := &run{Engine: e, plan: p, log: e.log.With("commit", p.Revision), reader: live.NewReader(e.api)}
	r.cache = newStatusCache(r)
	res.Applied = r.apply(ctx)
	return res, stepErrors(res.Applied)
}

func (r *run) apply(ctx context.Context) []StepResult {
	var actionSteps, bindSteps, deleteSteps []diff.Step
	for _, s := range r.plan.Changes.Steps {
		switch s.Kind {
		case diff.Bind:
			bindSteps = append(bindSteps, s)
		case diff.Delete:
			deleteSteps = append(deleteSteps, s)
		default:
			actionSteps = append(actionSteps, s)
		}
	}
	results := r.applyActions(ctx, actionSteps)
	failed := map[string]bool{}
	for _, res := range results {
		if res.Err != nil {
			failed[res.Subject] = true
		}
	}
	for _, s := range bindSteps {
		results = append(results, r.bind(ctx, s, failed))
	}
	for _, s := range deleteSteps {
		results = append(results, r.delete(ctx, s))
	}
	return results
}

func (r *run) applyActions(ctx context.Context, steps []diff.Step) []StepResult {
	out := make([]StepResult, len(steps))
	sem := make(chan struct{}, r.opts.Parallel)
	var wg gosync.WaitGroup
	for i, s := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			alog := r.log.With("action", s.Action, "step", string(s.Kind))
			defer func() {
				// A bug in one step fails that step, not the process: main's
				// recover cannot reach this goroutine, and a crash exits 2,
				// which a dry run's caller reads as "changes pending".
				if p := recover(); p != nil {
					out[i] = StepResult{Kind: s.Kind, Subject: s.Action, Err: fmt.Errorf("internal error: %v", p)}
					alog.Error("step panicked", "panic", p)
				}
			}()
			v, err := r.applyAction(ctx, alog, r.plan.desired.Action(s.Action), s)
			out[i] = StepResult{Kind: s.Kind, Subject: s.Action, Version: v, Err: err}
			if err != nil {
				alog.Error("step failed", "err", err)
			} else {
				alog.Info("step done", "version", v)
			}
		}()
	}
	wg.Wait()
	return out
}

// applyAction brings one action to the commit and returns the number of the
// version it deployed.
func (r *run) applyAction(ctx context.Context, log *slog.Logger, a *manifest.Action, s diff.Step) (int, error) {
	id := s.ActionID
	var err error
	switch s.Kind {
	case diff.Create:
		id, err = r.create(ctx, log, a)
	case diff.Update, diff.Adopt:
		err = r.api.Update(ctx, id, r.changes(a, s.Fields))
	case diff.Rollback:
		// go-auth0 sends no body; the draft must follow the rollback.
		v, err := r.api.DeployVersion(ctx, id, s.Version.ID, management.Body([]byte(`{"update_draft":true}`)))
		if err != nil {
			return 0, fmt.Errorf("roll back to version %d: %w", s.Version.Number, err)
		}
		return v.Number, r.waitDeployed(ctx, id, v.GetID())
	}
	if err != nil {
		return 0, err
	}
	if err := r.waitBuilt(ctx, log, id); err != nil {
		return 0, err
	}
	v, err := r.api.Deploy(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("deploy: %w", err)
	}
	return v.Number, r.waitDeployed(ctx, id, v.GetID())
}

// create makes the action. A create is never sent twice without looking
// the action up by name first: after a failed create a found action is
// updated instead, and a missing one is created again, createAttempts times
// at most.
func (r *run) create(ctx context.Context, log *slog.Logger, a *manifest.Action) (string, error) {
	all := []tenant.Field{tenant.FieldCode, tenant.FieldDependencies, tenant.FieldRuntime, tenant.FieldSecrets, tenant.FieldOwner}
	var err error
	for attempt := 0; attempt < createAttempts; attempt++ {
		if attempt > 0 {
			if err := backoff.Sleep(ctx, r.opts.Poll<<attempt); err != nil {
				return "", err
			}
		}
		body := r.changes(a, all)
		if err = r.api.Create(ctx, body); err == nil {
			return body.GetID(), nil
		}
		var me management.Error
		if errors.As(err, &me) && me.Status() == http.StatusBadRequest {
			break // the tenant refuses this action; another try would too
		}
		found, lerr := r.findByName(ctx, a.Name)
		if lerr != nil {
			return "", fmt.Errorf("create: %w (and looking it up: %v)", err, lerr)
		}
		if found != nil {
			log.Warn("create answered an error but the action exists; updating it instead", "err", err)
			return found.GetID(), r.api.Update(ctx, found.GetID(), r.changes(a, all))
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

// changes is the body of a create or update with the given fields. go-auth0
// always sends name and supported_triggers, so they are always set.
func (r *run) changes(a *manifest.Action, fields []tenant.Field) *management.Action {
	body := &management.Action{
		Name:              auth0.String(a.Name),
		SupportedTriggers: []management.ActionTrigger{{ID: auth0.String(a.Trigger.ID), Version: auth0.String(a.Trigger.Version)}},
	}
	if slices.ContainsFunc(fields, func(f tenant.Field) bool {
		return f == tenant.FieldCode || f == tenant.FieldSecrets || f == tenant.FieldOwner
	}) {
		body.Code = auth0.String(r.code(a))
	}
	if slices.Contains(fields, tenant.FieldDependencies) {
		deps := make([]management.ActionDependency, len(a.Dependencies))
		for i, d := range a.Dependencies {
			deps[i] = management.ActionDependency{Name: auth0.String(d.Name), Version: auth0.String(d.Version)}
		}
		body.Dependencies = &deps
	}
	if slices.Contains(fields, tenant.FieldRuntime) {
		body.Runtime = auth0.String(a.Runtime)
	}
	if slices.Contains(fields, tenant.FieldSecrets) {
		secrets := make([]management.ActionSecret, len(a.Secrets))
		for i, s := range a.Secrets {
			secrets[i] = management.ActionSecret{Name: auth0.String(s.Name), Value: auth0.String(s.Value)}
		}
		body.Secrets = &secrets
	}
	return body
}

// code is what is uploaded for a: its code, stamped with the owner, the
// commit and the secrets' fingerprints.
func (r *run) code(a *manifest.Action) string {
	return stamp.For(a, r.plan.Owner, r.plan.Revision, r.opts.SecretKey).Code(a.Code)
}

// waitBuilt polls the draft until it is built; a failed build is an error
// carrying the build's errors.
func (r *run) waitBuilt(ctx context.Context, log *slog.Logger, id string) error {
	r.cache.enter()
	defer r.cache.leave()
	since := time.Now()
	deadline := since.Add(r.opts.BuildTimeout)
	for {
		a, err := r.cache.status(ctx, id, since)
		if err != nil {
			return fmt.Errorf("read the draft: %w", err)
		}
		switch a.Status {
		case tenant.StatusBuilt:
			return nil
		case tenant.StatusFailed:
			return fmt.Errorf("%w: %s", ErrBuildFailed, strings.Join(a.BuildErrors, "; "))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the build is still %s after %v", a.Status, r.opts.BuildTimeout)
		}
		log.Debug("waiting for the build", "status", string(a.Status))
		if err := backoff.Sleep(ctx, r.opts.Poll); err != nil {
			return err
		}
	}
}

// waitDeployed polls until the version is the action's deployed version.
func (r *run) waitDeployed(ctx context.Context, id, versionID string) error {
	r.cache.enter()
	defer r.cache.leave()
	deadline := time.Now().Add(r.opts.BuildTimeout)
	for {
		a, err := r.cache.status(ctx, id, time.Time{})
		if err != nil {
			return fmt.Errorf("read the action: %w", err)
		}
		if a.Deployed != nil && a.Deployed.ID == versionID {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("version %s is still not deployed after %v", versionID, r.opts.BuildTimeout)
		}
		if err := backoff.Sleep(ctx, r.opts.Poll); err != nil {
			return err
		}
	}
}

// bind writes a trigger's whole order. An action whose step failed keeps
// the binding it had: bound where it was, unbound if it was not.
func (r *run) bind(ctx context.Context, s diff.Step, failed map[string]bool) StepResult {
	res := StepResult{Kind: diff.Bind, Subject: s.Trigger}
	wasBound := map[string]bool{}
	for _, b := range r.plan.live.Bindings[s.Trigger] {
		wasBound[b.Action] = true
	}
	var bs []*management.ActionBinding
	for _, b := range s.Bindings {
		if failed[b.Action] && !wasBound[b.Action] {
			r.log.Warn("not binding an action whose step failed", "trigger", s.Trigger, "action", b.Action)
			continue
		}
		bs = append(bs, &management.ActionBinding{
			Ref:         &management.ActionBindingReference{Type: auth0.String(management.ActionBindingReferenceByName), Value: auth0.String(b.Action)},
			DisplayName: auth0.String(b.DisplayName),
		})
	}
	if bs == nil {
		bs = []*management.ActionBinding{}
	}
	if res.Err = r.api.UpdateBindings(ctx, s.Trigger, bs); res.Err != nil {
		r.log.Error("bind failed", "trigger", s.Trigger, "err", res.Err)
	}
	return res
}

func (r *run) delete(ctx context.Context, s diff.Step) StepResult {
	res := StepResult{Kind: diff.Delete, Subject: s.Action}
	err := r.api.Delete(ctx, s.ActionID)
	var me management.Error
	if errors.As(err, &me) && me.Status() == http.StatusNotFound {
		err = nil // already gone: a repeated delete converges
	}
	if res.Err = err; err != nil {
		r.log.Error("delete failed", "action", s.Action, "err", err)
	}
	return res
}
