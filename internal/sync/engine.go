// Package sync makes a tenant match a commit: one Reconcile loads the
// commit, reads the tenant, plans, and (unless a dry run) applies the plan.
// --once, --dry-run and the daemon all call the same Reconcile; the daemon
// only decides when.
package sync

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/auth0/go-auth0/management"
)

// API is the part of go-auth0's ActionManager the engine uses. Reads are
// safe to retry. Of the writes, Update, Deploy of a built draft, DeployVersion
// and UpdateBindings converge when repeated; Create is never retried without
// first looking the action up by name; Delete answers 404 once done.
// Errors for answers of 400 and up are management.Error.
type API interface {
	live.API
	Read(ctx context.Context, id string, opts ...management.RequestOption) (*management.Action, error)
	Create(ctx context.Context, a *management.Action, opts ...management.RequestOption) error
	Update(ctx context.Context, id string, a *management.Action, opts ...management.RequestOption) error
	Delete(ctx context.Context, id string, opts ...management.RequestOption) error
	Deploy(ctx context.Context, id string, opts ...management.RequestOption) (*management.ActionVersion, error)
	DeployVersion(ctx context.Context, id, versionID string, opts ...management.RequestOption) (*management.ActionVersion, error)
	UpdateBindings(ctx context.Context, triggerID string, b []*management.ActionBinding, opts ...management.RequestOption) error
}

var _ API = (*management.ActionManager)(nil)

// Requester is go-auth0's plain request, for what its typed Action leaves
// out (a failed build's errors).
type Requester interface {
	URI(path ...string) string
	Request(ctx context.Context, method, uri string, payload any, opts ...management.RequestOption) error
}

var _ Requester = (*management.Management)(nil)

// Source yields the commit to sync: a tree and the revision it is.
type Source interface {
	Checkout(ctx context.Context) (fs.FS, string, error)
}

// Options configure an Engine.
type Options struct {
	DryRun     bool
	Prune      bool
	AllowEmpty bool
	// SecretKey keys the secrets' fingerprints (diff.DesiredCode).
	SecretKey []byte
	// Manifest says where secret values come from.
	Manifest manifest.Options
	// Parallel bounds the actions applied at once; 0 means 4.
	Parallel int
	// Poll is the wait between reads while a build runs; 0 means 500ms.
	Poll time.Duration
	// BuildTimeout bounds the wait for one build; 0 means 5 minutes.
	BuildTimeout time.Duration
	Logger       *slog.Logger
}

// Engine reconciles one tenant with one source.
type Engine struct {
	cache *statusCache // of the reconcile applying now
	api   API
	raw   Requester
	src   Source
	opts  Options
	log   *slog.Logger
}

// New returns an engine that syncs src into the tenant behind m.
func New(m *management.Management, src Source, opts Options) *Engine {
	return NewWith(m.Action, m, src, opts)
}

// NewWith returns an engine on any API and Requester; raw may be nil.
func NewWith(api API, raw Requester, src Source, opts Options) *Engine {
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.BuildTimeout <= 0 {
		opts.BuildTimeout = 5 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{api: api, raw: raw, src: src, opts: opts, log: log}
}

// Result is what a Reconcile saw and did.
type Result struct {
	Revision string     `json:"revision"`
	Plan     *diff.Plan `json:"plan"`
	// Applied lists the outcome of each step, in plan order (empty for a dry
	// run).
	Applied []StepResult `json:"applied"`
	Reads   int          `json:"reads"`
}

// StepResult is the outcome of one step.
type StepResult struct {
	Kind    diff.Kind `json:"kind"`
	Subject string    `json:"subject"`
	Version int       `json:"version,omitempty"` // the version deployed
	Error   string    `json:"error,omitempty"`
}

// Reconcile loads the commit, reads the tenant, plans and, unless this is a
// dry run, applies the plan. Any problem with the commit or the read is an
// error before a single write. A step that fails leaves what it did not
// touch as it was; the others go on, and the error lists every failure.
func (e *Engine) Reconcile(ctx context.Context) (*Result, error) {
	fsys, rev, err := e.src.Checkout(ctx)
	if err != nil {
		return nil, fmt.Errorf("check out: %w", err)
	}
	log := e.log.With("commit", rev)
	desired, err := manifest.Load(fsys, e.opts.Manifest)
	if err != nil {
		return nil, err
	}
	if err := e.needKey(desired); err != nil {
		return nil, err
	}
	st, err := live.Read(ctx, e.api, desired, live.Options{Prune: e.opts.Prune, Raw: e.raw})
	if err != nil {
		return nil, fmt.Errorf("read the tenant: %w", err)
	}
	if err := desired.Validate(st.Catalogue, st.TriggerOf()); err != nil {
		return nil, err
	}
	if err := st.ReadVersions(ctx, e.api, diff.RollbackCandidates(desired, st.Live, e.opts.SecretKey)); err != nil {
		return nil, fmt.Errorf("read the tenant: %w", err)
	}
	plan, err := diff.Compute(desired, st.Live, diff.Options{Prune: e.opts.Prune, AllowEmpty: e.opts.AllowEmpty, SecretKey: e.opts.SecretKey})
	if err != nil {
		return nil, err
	}
	res := &Result{Revision: rev, Plan: plan, Applied: []StepResult{}, Reads: st.Reads}
	log.Info("planned", "steps", len(plan.Steps), "reads", st.Reads, "dry_run", e.opts.DryRun)
	if e.opts.DryRun || plan.Empty() {
		return res, nil
	}
	return res, e.apply(ctx, log, desired, st, res)
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
	return nil
}
