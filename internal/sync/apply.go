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

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

// createAttempts bounds the creates of one action in one run.
const createAttempts = 5

// ErrBuildFailed is wrapped by the error of an action whose build failed.
var ErrBuildFailed = errors.New("build failed")

// apply runs the plan: actions first (bounded in parallel), then each
// trigger's bindings once every action it names is deployed, then deletes.
func (e *Engine) apply(ctx context.Context, log *slog.Logger, desired *manifest.Repo, st *live.State, res *Result) error {
	var actionSteps, bindSteps, deleteSteps []diff.Step
	for _, s := range res.Plan.Steps {
		switch s.Kind {
		case diff.Bind:
			bindSteps = append(bindSteps, s)
		case diff.Delete:
			deleteSteps = append(deleteSteps, s)
		default:
			actionSteps = append(actionSteps, s)
		}
	}
	e.cache = newStatusCache(e)
	results := e.applyActions(ctx, log, desired, actionSteps)
	failed := map[string]bool{}
	for _, r := range results {
		if r.Error != "" {
			failed[r.Subject] = true
		}
	}
	for _, s := range bindSteps {
		results = append(results, e.bind(ctx, log, s, failed, st.Live))
	}
	for _, s := range deleteSteps {
		results = append(results, e.delete(ctx, log, s))
	}
	res.Applied = results
	var errs []error
	for _, r := range results {
		if r.Error != "" {
			errs = append(errs, fmt.Errorf("%s %s: %s", r.Kind, r.Subject, r.Error))
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) applyActions(ctx context.Context, log *slog.Logger, desired *manifest.Repo, steps []diff.Step) []StepResult {
	out := make([]StepResult, len(steps))
	sem := make(chan struct{}, e.opts.Parallel)
	var wg gosync.WaitGroup
	for i, s := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			alog := log.With("action", s.Action, "step", string(s.Kind))
			defer func() {
				// A bug in one step fails that step, not the process: main's
				// recover cannot reach this goroutine, and a crash exits 2,
				// which a dry run's caller reads as "changes pending".
				if p := recover(); p != nil {
					out[i] = StepResult{Kind: s.Kind, Subject: s.Action, Error: fmt.Sprintf("internal error: %v", p)}
					alog.Error("step panicked", "panic", p)
				}
			}()
			v, err := e.applyAction(ctx, alog, desired.Action(s.Action), s)
			out[i] = StepResult{Kind: s.Kind, Subject: s.Action, Version: v}
			if err != nil {
				out[i].Error = err.Error()
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
func (e *Engine) applyAction(ctx context.Context, log *slog.Logger, a *manifest.Action, s diff.Step) (int, error) {
	id := s.ActionID
	var err error
	switch s.Kind {
	case diff.Create:
		id, err = e.create(ctx, log, a)
	case diff.Update:
		err = e.api.Update(ctx, id, e.changes(a, s.Fields))
	case diff.Rollback:
		// go-auth0 sends no body; the draft must follow the rollback.
		v, err := e.api.DeployVersion(ctx, id, s.Version.ID, management.Body([]byte(`{"update_draft":true}`)))
		if err != nil {
			return 0, fmt.Errorf("roll back to version %d: %w", s.Version.Number, err)
		}
		return v.Number, e.waitDeployed(ctx, id, v.GetID())
	}
	if err != nil {
		return 0, err
	}
	if err := e.waitBuilt(ctx, log, id); err != nil {
		return 0, err
	}
	v, err := e.api.Deploy(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("deploy: %w", err)
	}
	return v.Number, e.waitDeployed(ctx, id, v.GetID())
}

// create makes the action. A create is never sent twice without looking
// the action up by name first: after a failed create a found action is
// updated instead, and a missing one is created again, createAttempts times
// at most.
func (e *Engine) create(ctx context.Context, log *slog.Logger, a *manifest.Action) (string, error) {
	all := []string{"code", "dependencies", "runtime", "secrets"}
	var err error
	for attempt := 0; attempt < createAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, e.opts.Poll<<attempt); err != nil {
				return "", err
			}
		}
		body := e.changes(a, all)
		if err = e.api.Create(ctx, body); err == nil {
			return body.GetID(), nil
		}
		var me management.Error
		if errors.As(err, &me) && me.Status() == http.StatusBadRequest {
			break // the tenant refuses this action; another try would too
		}
		found, lerr := e.findByName(ctx, a.Name)
		if lerr != nil {
			return "", fmt.Errorf("create: %w (and looking it up: %v)", err, lerr)
		}
		if found != nil {
			log.Warn("create answered an error but the action exists; updating it instead", "err", err)
			return found.GetID(), e.api.Update(ctx, found.GetID(), e.changes(a, all))
		}
		log.Warn("create failed and the action does not exist; trying again", "err", err)
	}
	return "", fmt.Errorf("create: %w", err)
}

func (e *Engine) findByName(ctx context.Context, name string) (*management.Action, error) {
	l, err := e.api.List(ctx, management.Parameter("actionName", name))
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
func (e *Engine) changes(a *manifest.Action, fields []string) *management.Action {
	body := &management.Action{
		Name:              auth0.String(a.Name),
		SupportedTriggers: []management.ActionTrigger{{ID: auth0.String(a.Trigger.ID), Version: auth0.String(a.Trigger.Version)}},
	}
	if slices.Contains(fields, "code") || slices.Contains(fields, "secrets") {
		body.Code = auth0.String(diff.DesiredCode(a, e.opts.SecretKey))
	}
	if slices.Contains(fields, "dependencies") {
		deps := make([]management.ActionDependency, len(a.Dependencies))
		for i, d := range a.Dependencies {
			deps[i] = management.ActionDependency{Name: auth0.String(d.Name), Version: auth0.String(d.Version)}
		}
		body.Dependencies = &deps
	}
	if slices.Contains(fields, "runtime") {
		body.Runtime = auth0.String(a.Runtime)
	}
	if slices.Contains(fields, "secrets") {
		secrets := make([]management.ActionSecret, len(a.Secrets))
		for i, s := range a.Secrets {
			secrets[i] = management.ActionSecret{Name: auth0.String(s.Name), Value: auth0.String(s.Value)}
		}
		body.Secrets = &secrets
	}
	return body
}

// draftState is the part of an action the waits read. go-auth0's Action
// has no errors field, so it is read with a plain request.
type draftState struct {
	Status   string      `json:"status"`
	Deployed *versionRef `json:"deployed_version"`
	Errors   []struct {
		Msg string `json:"msg"`
	} `json:"errors"`
}

type versionRef struct {
	ID string `json:"id"`
}

func (e *Engine) readDraft(ctx context.Context, id string) (*draftState, error) {
	if e.raw != nil {
		d := &draftState{}
		return d, e.raw.Request(ctx, http.MethodGet, e.raw.URI("actions", "actions", id), d)
	}
	a, err := e.api.Read(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &draftState{Status: a.GetStatus()}
	if a.DeployedVersion != nil {
		d.Deployed = &versionRef{ID: a.DeployedVersion.GetID()}
	}
	return d, nil
}

// waitBuilt polls the draft until it is built; a failed build is an error
// carrying the build's errors.
func (e *Engine) waitBuilt(ctx context.Context, log *slog.Logger, id string) error {
	e.cache.enter()
	defer e.cache.leave()
	since := time.Now()
	deadline := since.Add(e.opts.BuildTimeout)
	for {
		d, err := e.cache.status(ctx, id, since)
		if err != nil {
			return fmt.Errorf("read the draft: %w", err)
		}
		switch d.Status {
		case "built":
			return nil
		case "failed":
			msgs := make([]string, len(d.Errors))
			for i, m := range d.Errors {
				msgs[i] = m.Msg
			}
			return fmt.Errorf("%w: %s", ErrBuildFailed, strings.Join(msgs, "; "))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the build is still %s after %v", d.Status, e.opts.BuildTimeout)
		}
		log.Debug("waiting for the build", "status", d.Status)
		if err := sleep(ctx, e.opts.Poll); err != nil {
			return err
		}
	}
}

// waitDeployed polls until the version is the action's deployed version.
func (e *Engine) waitDeployed(ctx context.Context, id, versionID string) error {
	e.cache.enter()
	defer e.cache.leave()
	deadline := time.Now().Add(e.opts.BuildTimeout)
	for {
		d, err := e.cache.status(ctx, id, time.Time{})
		if err != nil {
			return fmt.Errorf("read the action: %w", err)
		}
		if d.Deployed != nil && d.Deployed.ID == versionID {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("version %s is still not deployed after %v", versionID, e.opts.BuildTimeout)
		}
		if err := sleep(ctx, e.opts.Poll); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// bind writes a trigger's whole order. An action whose step failed keeps
// the binding it had: bound where it was, unbound if it was not.
func (e *Engine) bind(ctx context.Context, log *slog.Logger, s diff.Step, failed map[string]bool, l *diff.Live) StepResult {
	r := StepResult{Kind: diff.Bind, Subject: s.Trigger}
	wasBound := map[string]bool{}
	for _, b := range l.Bindings[s.Trigger] {
		wasBound[b.Action] = true
	}
	var bs []*management.ActionBinding
	for _, b := range s.Bindings {
		if failed[b.Action] && !wasBound[b.Action] {
			log.Warn("not binding an action whose step failed", "trigger", s.Trigger, "action", b.Action)
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
	if err := e.api.UpdateBindings(ctx, s.Trigger, bs); err != nil {
		r.Error = err.Error()
		log.Error("bind failed", "trigger", s.Trigger, "err", err)
	}
	return r
}

func (e *Engine) delete(ctx context.Context, log *slog.Logger, s diff.Step) StepResult {
	r := StepResult{Kind: diff.Delete, Subject: s.Action}
	err := e.api.Delete(ctx, s.ActionID)
	var me management.Error
	if errors.As(err, &me) && me.Status() == http.StatusNotFound {
		err = nil // already gone: a repeated delete converges
	}
	if err != nil {
		r.Error = err.Error()
		log.Error("delete failed", "action", s.Action, "err", err)
	}
	return r
}
