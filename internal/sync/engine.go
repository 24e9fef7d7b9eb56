// Package sync makes a tenant match a commit, in two steps: Plan checks out
// the commit, loads and validates it, reads the tenant and computes the
// changes; Apply makes them. --dry-run and the drift report call Plan only;
// --once and the daemon call Plan, then Apply.
//
// Apply is a pipeline. Options.Parallel bounds the requests in flight, not
// the actions: every draft is written at once (creates, updates and
// rollbacks, paced by the tenant's rate limit, writes before reads), all
// builds run together on the tenant's side, and each action is deployed as
// soon as a listing shows its build done. One listing a round serves every
// wait, and rounds follow the builds: first look once the typical build
// time seen so far has passed, then back off. A deploy answered with a
// built version costs no further read. Each trigger's bindings are written
// once every action they name is done, and deletes come last. Under a Gate
// (a tested deploy), an action's cases run on its built draft before its
// deploy, and a trigger's flow cases before its bindings are written; a
// failing case holds back what it guards (see Gate). Drafts runs the same
// pipeline's writes and build waits without deploying, for tests on the
// tenant.
//
// One writer at a time, and never a lost binding: another writer (a second
// CI job, a person in the dashboard) may change the tenant while Apply
// runs. Bindings are written from the trigger's bindings as read just
// before the write, planned again from them, so what another writer bound
// meanwhile is kept and the order is the commit's. A step that finds its
// plan's reads stale (a create answered 409; an update, deploy or rollback
// answered 404; a draft or deployed version the wait sees replaced by
// someone else) ends at once with ErrStale, never forced and never waited
// out; the triggers that name it and the deletes wait too. When the round
// is over, Apply reads the tenant again and plans the same commit again,
// and applies that plan: MaxReplans times at most, after which the stale
// steps are the run's errors. This lives inside Apply so that --once and
// the daemon share it; two writers of the same commit so both end with
// exit 0 and the commit's state.
package sync

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/actionsync/actionsync/internal/actiontest"
	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
	"github.com/auth0/go-auth0/management"
)

// API is what the engine needs of a tenant: the reader's calls, and
// go-auth0's writes. Of the writes, Update, Deploy of a built draft,
// DeployVersion and UpdateBindings converge when repeated; Create is never
// retried without first looking the action up by name; Delete answers 404
// once done. Errors for answers of 400 and up are management.Error.
type API interface {
	live.API
	List(ctx context.Context, opts ...management.RequestOption) (*management.ActionList, error)
	Create(ctx context.Context, a *management.Action, opts ...management.RequestOption) error
	Update(ctx context.Context, id string, a *management.Action, opts ...management.RequestOption) error
	Delete(ctx context.Context, id string, opts ...management.RequestOption) error
	Deploy(ctx context.Context, id string, opts ...management.RequestOption) (*management.ActionVersion, error)
	DeployVersion(ctx context.Context, id, versionID string, opts ...management.RequestOption) (*management.ActionVersion, error)
	UpdateBindings(ctx context.Context, triggerID string, b []*management.ActionBinding, opts ...management.RequestOption) error
}

var _ API = live.Client{}

// Source yields the commit to sync: a tree and the revision it is.
type Source interface {
	Checkout(ctx context.Context) (fs.FS, string, error)
}

// Options configure an Engine.
type Options struct {
	Prune      bool
	AllowEmpty bool
	// SecretKey keys the secrets' fingerprints (internal/stamp).
	SecretKey []byte
	// Owner is who a repo whose actionsync.yaml names no owner writes its
	// actions as (the stamp's owner); "" means stamp.DefaultOwner.
	Owner string
	// AdoptForeign lets the repo take over actions another owner wrote.
	AdoptForeign bool
	// MaxActions is the tenant's limit of actions; 0 means Auth0's
	// default, diff.DefaultMaxActions.
	MaxActions int
	// Manifest says where secret values come from.
	Manifest manifest.Options
	// Parallel bounds the requests in flight at once; 0 means 4. Actions
	// waiting for their builds hold none.
	Parallel int
	// Poll is the shortest time between two looks at the tenant while
	// builds run, and the first wait before any build time is known; 0
	// means 500ms.
	Poll time.Duration
	// BuildTimeout bounds the wait for one build; 0 means 5 minutes.
	BuildTimeout time.Duration
	// Gate, when set, makes Apply a tested deploy (--test): Plan loads the
	// commit's test cases, and Gate runs them on the built drafts before
	// they are deployed and bound (see Gate).
	Gate   Gate
	Logger *slog.Logger
}

// Engine syncs one source into one tenant. It keeps no state between calls
// but the build times it has seen, which only time its looks: Plan and
// Apply may run concurrently, and two Applies against one tenant are two
// writers (see the package doc), whichever engines they come from.
type Engine struct {
	api   API
	src   Source
	opts  Options
	log   *slog.Logger
	times *buildTimes
}

// New returns an engine that syncs src into the tenant behind m.
func New(m *management.Management, src Source, opts Options) *Engine {
	return NewWith(live.NewClient(m), src, opts)
}

// NewWith returns an engine on any API.
func NewWith(api API, src Source, opts Options) *Engine {
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.BuildTimeout <= 0 {
		opts.BuildTimeout = 5 * time.Minute
	}
	if opts.Owner == "" {
		opts.Owner = stamp.DefaultOwner
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{api: api, src: src, opts: opts, log: log, times: &buildTimes{}}
}

// Plan is a commit, the tenant as read, and the changes that make the
// tenant match the commit.
type Plan struct {
	Revision string
	// Owner is who the plan writes actions as: the repo's actionsync.yaml
	// owner, or Options.Owner.
	Owner   string
	Changes *diff.Plan
	// Reads is the number of API calls the plan took.
	Reads int

	desired *manifest.Repo
	live    *tenant.State
	cases   *actiontest.Suite // the commit's test cases, under a Gate
}

// Provenance is the stamp of the named action's draft as the tenant keeps
// it: who wrote it last, from which commit; ok is false for an action that
// is not in the tenant or has no stamp.
func (p *Plan) Provenance(action string) (s stamp.Stamp, ok bool) {
	a := p.live.Action(action)
	if a == nil {
		return stamp.Stamp{}, false
	}
	_, s, ok = stamp.Split(a.Code)
	return s, ok
}

// Plan checks out the commit, loads and validates it, reads the tenant and
// plans. It writes nothing. Any problem with the commit or the read is an
// error, never a smaller plan.
func (e *Engine) Plan(ctx context.Context) (*Plan, error) {
	fsys, rev, err := e.src.Checkout(ctx)
	if err != nil {
		return nil, fmt.Errorf("check out: %w", err)
	}
	desired, err := manifest.Load(fsys, e.opts.Manifest)
	if err != nil {
		return nil, err
	}
	if err := e.needKey(desired); err != nil {
		return nil, err
	}
	cases, err := e.loadCases(fsys, desired)
	if err != nil {
		return nil, err
	}
	p, err := e.planFrom(ctx, rev, desired)
	if p != nil {
		p.cases = cases
	}
	return p, err
}

// planFrom reads the tenant and plans desired, the commit rev.
func (e *Engine) planFrom(ctx context.Context, rev string, desired *manifest.Repo) (*Plan, error) {
	opts := e.planOptions(desired)
	st, reads, err := e.read(ctx, desired, opts)
	if err != nil {
		return nil, err
	}
	changes, err := diff.Compute(desired, st, opts)
	if err != nil {
		return nil, err
	}
	changes.Revision = rev
	e.log.Info("planned", "commit", rev, "owner", opts.Owner, "steps", len(changes.Steps), "reads", reads)
	return &Plan{Revision: rev, Owner: opts.Owner, Changes: changes, Reads: reads, desired: desired, live: st}, nil
}

// read reads what planning desired needs, validating desired against the
// tenant's catalogue on the way, and returns it with the calls it took.
func (e *Engine) read(ctx context.Context, desired *manifest.Repo, opts diff.Options) (*tenant.State, int, error) {
	r := live.NewReader(e.api)
	st, err := r.Read(ctx)
	if err != nil {
		return nil, r.Calls(), fmt.Errorf("read the tenant: %w", err)
	}
	if err := desired.Validate(st.Catalogue, st.TriggerOf()); err != nil {
		return nil, r.Calls(), err
	}
	if err := readModules(ctx, r, desired, st, opts); err != nil {
		return nil, r.Calls(), fmt.Errorf("read the tenant: %w", err)
	}
	if err := r.ReadBindings(ctx, st, diff.BindingTriggers(desired, st, opts)); err != nil {
		return nil, r.Calls(), fmt.Errorf("read the tenant: %w", err)
	}
	if err := r.ReadVersions(ctx, st, diff.RollbackCandidates(desired, st, opts)); err != nil {
		return nil, r.Calls(), fmt.Errorf("read the tenant: %w", err)
	}
	return st, r.Calls(), nil
}

// planOptions are the planner's options for desired: the repo's own owner
// wins over the engine's default.
func (e *Engine) planOptions(desired *manifest.Repo) diff.Options {
	owner := desired.Config.Owner
	if owner == "" {
		owner = e.opts.Owner
	}
	return diff.Options{Prune: e.opts.Prune, AllowEmpty: e.opts.AllowEmpty, SecretKey: e.opts.SecretKey, Owner: owner,
		AdoptForeign: e.opts.AdoptForeign, MaxActions: e.opts.MaxActions}
}

// readModules reads the modules a plan of desired needs, if any (one call
// a page of them), and the versions of those whose listing cannot tell
// which version holds the commit.
func readModules(ctx context.Context, r *live.Reader, desired *manifest.Repo, st *tenant.State, opts diff.Options) error {
	if !diff.NeedModules(desired, st, opts) {
		return nil
	}
	if err := r.ReadModules(ctx, st); err != nil {
		return err
	}
	return r.ReadModuleVersions(ctx, st, diff.ModuleVersionCandidates(desired, st, opts))
}

func (e *Engine) needKey(desired *manifest.Repo) error {
	if e.opts.SecretKey != nil {
		return nil
	}
	for _, a := range desired.Actions {
		if len(a.Secrets) > 0 {
			return fmt.Errorf("action %s has secrets, and no fingerprint key is configured: set --secret-key-file, or use client credentials", a.Name)
		}
	}
	for _, m := range desired.Modules {
		if len(m.Secrets) > 0 {
			return fmt.Errorf("module %s has secrets, and no fingerprint key is configured: set --secret-key-file, or use client credentials", m.Name)
		}
	}
	return nil
}
