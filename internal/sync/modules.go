package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

// Action Modules are written through go-auth0's plain request: v1.49.0 has
// no module manager. A module step is not built: its publish answers with
// the version, which the actions that use it then pin.

// moduleWrite is the body of a module's create or update
// (CreateActionModuleRequestContent, UpdateActionModuleRequestContent).
type moduleWrite struct {
	Name         *string                        `json:"name,omitempty"`
	Code         *string                        `json:"code,omitempty"`
	Dependencies *[]management.ActionDependency `json:"dependencies,omitempty"`
	Secrets      *[]management.ActionSecret     `json:"secrets,omitempty"`
	Publish      *bool                          `json:"publish,omitempty"`
}

// moduleVersion is a published version as the API answers it, alone or as
// a module's latest_version.
type moduleVersion struct {
	ID     string `json:"id"`
	Number int    `json:"version_number"`
}

// modules is what the action steps of a round wait for: each module step's
// end, and its result (the version it made), read once done is closed.
// Both maps are filled before any step starts, and only read after.
type modules struct {
	done    map[string]chan struct{}
	results map[string]*StepResult
}

// newModules prepares the waits on the module steps of steps, whose
// results go to out.
func newModules(steps []diff.Step, out []StepResult) *modules {
	ms := &modules{done: map[string]chan struct{}{}, results: map[string]*StepResult{}}
	for i, s := range steps {
		if s.Kind.IsModule() && s.Kind != diff.ModuleDelete {
			ms.done[s.Module], ms.results[s.Module] = make(chan struct{}), &out[i]
		}
	}
	return ms
}

// pins waits for the steps of the modules a uses, and returns the versions
// a is to pin, by module name: the version a step made, or the one the
// plan found. A module whose step failed fails a; one that is to be
// planned again makes a planned again too.
func (r *run) pins(ctx context.Context, a *manifest.Action) ([]diff.Pin, error) {
	out := make([]diff.Pin, 0, len(a.Modules))
	for _, name := range a.Modules {
		p := diff.Pin{Module: name, Version: r.plan.Changes.ModuleVersion(name)}
		if done, ok := r.modules.done[name]; ok {
			select {
			case <-done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			res := r.modules.results[name]
			switch {
			case isStale(res.Err):
				return nil, stale("module %s is planned again", name)
			case res.Err != nil:
				return nil, fmt.Errorf("module %s: %w", name, res.Err)
			}
			p.Version = res.Version
		}
		if p.Version == 0 {
			return nil, fmt.Errorf("module %s: no published version to pin", name)
		}
		out = append(out, p)
	}
	return out, nil
}

func (r *run) applyModule(ctx context.Context, s diff.Step) StepResult {
	log := r.log.With("module", s.Module, "step", string(s.Kind))
	v, err := r.moduleStep(ctx, r.plan.desired.Module(s.Module), s)
	if err != nil {
		log.Error("step failed", "err", err)
	} else {
		log.Info("step done", "version", v)
	}
	return StepResult{Kind: s.Kind, Subject: s.Module, Version: v, Err: err}
}

// moduleStep brings one module to the commit and returns the number of the
// version its actions are to pin.
func (r *run) moduleStep(ctx context.Context, m *manifest.Module, s diff.Step) (int, error) {
	switch s.Kind {
	case diff.ModuleCreate:
		return r.createModule(ctx, m)
	case diff.ModuleRollback:
		return r.rollbackModule(ctx, s)
	}
	if len(s.Fields) > 0 {
		body := r.moduleBody(m, s.Fields)
		err := r.call(ctx, func() error { return r.moduleRequest(ctx, http.MethodPatch, body, nil, s.ModuleID) })
		if err != nil {
			return 0, fmt.Errorf("update module: %w", staleIfGone(err))
		}
	}
	var v moduleVersion
	err := r.call(ctx, func() error { return r.moduleRequest(ctx, http.MethodPost, nil, &v, s.ModuleID, "versions") })
	switch {
	case isStatus(err, http.StatusConflict):
		return 0, stale("publish answered 409: another writer published module %s", s.Module)
	case err != nil:
		return 0, fmt.Errorf("publish module: %w", staleIfGone(err))
	}
	return v.Number, nil
}

// createModule creates m, published at once as its version 1. A 409 means
// another writer created it since the plan read the tenant (or a create
// the transport sent again did), and the round is planned again.
func (r *run) createModule(ctx context.Context, m *manifest.Module) (int, error) {
	body := r.moduleBody(m, []tenant.Field{tenant.FieldCode, tenant.FieldDependencies, tenant.FieldSecrets})
	body.Name, body.Publish = auth0.String(m.Name), auth0.Bool(true)
	var created struct {
		Latest       *moduleVersion `json:"latest_version"`
		LatestNumber int            `json:"latest_version_number"`
	}
	err := r.call(ctx, func() error { return r.moduleRequest(ctx, http.MethodPost, body, &created) })
	switch {
	case isStatus(err, http.StatusConflict):
		return 0, stale("create answered 409: another writer created module %s", m.Name)
	case err != nil:
		return 0, fmt.Errorf("create module: %w", err)
	case created.Latest != nil:
		return created.Latest.Number, nil
	case created.LatestNumber > 0:
		return created.LatestNumber, nil
	}
	// The answer does not say which version was published: the listing
	// will.
	return 0, stale("the create of module %s did not name its version", m.Name)
}

// rollbackModule returns the draft to the published version the commit
// equals; nothing is published, and the actions pin that version.
func (r *run) rollbackModule(ctx context.Context, s diff.Step) (int, error) {
	body := map[string]string{"module_version_id": s.Version.ID}
	err := r.call(ctx, func() error { return r.moduleRequest(ctx, http.MethodPost, body, nil, s.ModuleID, "rollback") })
	if err != nil && !isStatus(err, http.StatusConflict) { // 409: the draft already is that version
		return 0, fmt.Errorf("roll back module to version %d: %w", s.Version.Number, staleIfGone(err))
	}
	return s.Version.Number, nil
}

func (r *run) deleteModule(ctx context.Context, s diff.Step) StepResult {
	res := StepResult{Kind: diff.ModuleDelete, Subject: s.Module}
	err := r.call(ctx, func() error { return r.moduleRequest(ctx, http.MethodDelete, nil, nil, s.ModuleID) })
	if isStatus(err, http.StatusNotFound) {
		err = nil // already gone: a repeated delete converges
	}
	if res.Err = err; err != nil {
		r.log.Error("delete failed", "module", s.Module, "err", err)
	}
	return res
}

// moduleRequest sends body (nil for none) to /actions/modules[/path...]
// and decodes the answer into answer (nil to ignore it).
func (r *run) moduleRequest(ctx context.Context, method string, body, answer any, path ...string) error {
	uri := r.api.URI(append([]string{"actions", "modules"}, path...)...)
	return r.api.Request(ctx, method, uri, &exchange{send: body, receive: answer})
}

// exchange is a plain request's payload, which go-auth0 both encodes as
// the body and decodes the answer into: send is the body (nil for none),
// receive takes the answer (nil to ignore it).
type exchange struct{ send, receive any }

func (x *exchange) MarshalJSON() ([]byte, error) { return json.Marshal(x.send) }

func (x *exchange) UnmarshalJSON(b []byte) error {
	if x.receive == nil {
		return nil
	}
	return json.Unmarshal(b, x.receive)
}

// moduleBody is the body that writes the given fields of m: the code
// (stamped with the owner, the commit and the secrets' fingerprints) for
// any of code, secrets and owner.
func (r *run) moduleBody(m *manifest.Module, fields []tenant.Field) *moduleWrite {
	body := &moduleWrite{}
	if writesCode(fields) {
		body.Code = auth0.String(stamp.ForModule(m, r.plan.Owner, r.plan.Revision, r.opts.SecretKey).Code(m.Code))
	}
	if slices.Contains(fields, tenant.FieldDependencies) {
		body.Dependencies = dependencies(m.Dependencies)
	}
	if slices.Contains(fields, tenant.FieldSecrets) {
		body.Secrets = secrets(m.Secrets)
	}
	return body
}

func dependencies(ds []tenant.Dependency) *[]management.ActionDependency {
	out := make([]management.ActionDependency, len(ds))
	for i, d := range ds {
		out[i] = management.ActionDependency{Name: auth0.String(d.Name), Version: auth0.String(d.Version)}
	}
	return &out
}

func secrets(ss []manifest.Secret) *[]management.ActionSecret {
	out := make([]management.ActionSecret, len(ss))
	for i, s := range ss {
		out[i] = management.ActionSecret{Name: auth0.String(s.Name), Value: auth0.String(s.Value)}
	}
	return &out
}

// modulePins is the modules field of an action's body: each module by
// name and version number, as Auth0's deploy CLI sends them.
func modulePins(pins []diff.Pin) *[]management.ActionModules {
	out := make([]management.ActionModules, len(pins))
	for i, p := range pins {
		out[i] = management.ActionModules{ModuleName: auth0.String(p.Module), ModuleVersionNumber: auth0.Int(p.Version)}
	}
	return &out
}
