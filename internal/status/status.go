// Package status tells which commit a tenant runs: for each action of a
// repo, whether its live deployed version matches the commit and, if not,
// which earlier commit of the branch it matches, a draft waiting to be
// deployed, and its owner; for each Action Module of the repo, which of
// its published versions the actions run and whether they match; for each
// managed trigger, whether the bindings match. It compares content as the planner does (the stamp's commit is a
// hint, not the truth) and reads no secret value: secrets compare by name.
package status

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"slices"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
)

// FormatVersion is the version of the JSON report (docs/STATUS.md).
const FormatVersion = 1

// Depth is how many commits of history a report looks back through.
const Depth = 200

// Source yields the commit to compare with, as sync.Source does.
type Source interface {
	Checkout(ctx context.Context) (fs.FS, string, error)
}

// History is a branch's commits, newest first: Log calls fn with each one
// (passing over those that leave the repo as the newer one had), n at
// most, until fn returns false or an error.
type History interface {
	Log(ctx context.Context, n int, fn func(rev string, tree fs.FS) (bool, error)) error
}

// Options shape a report.
type Options struct {
	// History is where earlier commits are looked up; nil for none (a
	// directory outside Git).
	History History
	// Environment is the environment of actionsync.yaml whose overlay
	// applies (its excluded actions are not reported); "" for none.
	Environment string
	// Private are what a from_file may not name (manifest.Options.Private):
	// status reads no secret, and refuses the repos sync refuses.
	Private []string
}

// Check checks out the commit, reads the tenant, and reports how the two
// compare. It writes nothing.
func Check(ctx context.Context, api live.API, src Source, opts Options) (*Report, error) {
	fsys, rev, err := src.Checkout(ctx)
	if err != nil {
		return nil, fmt.Errorf("check out: %w", err)
	}
	desired, err := manifest.Load(fsys, noSecrets(opts))
	if err != nil {
		return nil, err
	}
	r := live.NewReader(api)
	st, err := r.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the tenant: %w", err)
	}
	if err := desired.Validate(st.Catalogue, st.TriggerOf()); err != nil {
		return nil, err
	}
	if err := diff.OthersNamed(desired, st, ownerOf(desired)); err != nil {
		return nil, err
	}
	if err := r.ReadBindings(ctx, st, diff.BindingTriggers(desired, st, diff.Options{})); err != nil {
		return nil, fmt.Errorf("read the tenant: %w", err)
	}
	if err := readModules(ctx, r, desired, st); err != nil {
		return nil, fmt.Errorf("read the tenant: %w", err)
	}
	rep := compare(desired, rev, st, ownerOf(desired))
	if opts.History != nil {
		if err := lookBack(ctx, rep, st, rev, opts); err != nil {
			return nil, fmt.Errorf("look through history: %w", err)
		}
	}
	return rep, nil
}

// readModules reads the tenant's modules, when the repo has any or an
// action pins one, and the versions of the repo's modules: which version
// runs is the one each action pins.
func readModules(ctx context.Context, r *live.Reader, desired *manifest.Repo, st *tenant.State) error {
	if !diff.NeedModules(desired, st, diff.Options{}) {
		return nil
	}
	if err := r.ReadModules(ctx, st); err != nil {
		return err
	}
	var names []string
	for _, m := range desired.Modules {
		names = append(names, m.Name)
	}
	return r.ReadModuleVersions(ctx, st, names)
}

// noSecrets loads a commit (in opts' environment) without reading a
// secret value: status compares secrets by name, and needs no value set.
func noSecrets(opts Options) manifest.Options {
	return manifest.Options{
		Private:     opts.Private,
		Getenv:      func(string) string { return "unread" },
		ReadFile:    func(string) ([]byte, error) { return []byte("unread"), nil },
		Environment: opts.Environment,
	}
}

// ownerOf is the owner of r: its actionsync.yaml's, or the default.
func ownerOf(r *manifest.Repo) string { return cmp.Or(r.Config.Owner, stamp.DefaultOwner) }

// compare compares the commit with the tenant, action by action and
// trigger by trigger.
func compare(desired *manifest.Repo, rev string, st *tenant.State, owner string) *Report {
	rep := &Report{FormatVersion: FormatVersion, Revision: rev, Owner: owner, Actions: []Action{}, Modules: []Module{}, Triggers: []Trigger{}}
	byName := st.ByName()
	for _, a := range desired.Actions {
		rep.Actions = append(rep.Actions, compareAction(a, desired, byName[a.Name], st, owner))
	}
	for _, m := range desired.Modules {
		rep.Modules = append(rep.Modules, compareModule(m, desired, st, owner))
	}
	for _, t := range desired.Triggers {
		rep.Triggers = append(rep.Triggers, compareTrigger(t, desired, st, owner))
	}
	rep.InSync = rep.count() == 0
	return rep
}

func compareAction(a *manifest.Action, desired *manifest.Repo, l *tenant.Action, st *tenant.State, owner string) Action {
	out := Action{Action: a.Name, Trigger: a.Trigger.ID, State: Missing}
	if l == nil {
		return out
	}
	if st, ok := stamp.Of(l); ok {
		out.Owner = st.Owner
	}
	out.DraftStatus = l.Status
	if l.Deployed == nil {
		out.State = NotDeployed
		return out
	}
	out.Version = l.Deployed.Number
	if _, st, ok := stamp.Split(l.Deployed.Code); ok {
		out.StampCommit = st.Commit
	}
	out.Differs = versionFields(a, desired, owner, l, st)
	out.DraftDiffers = diff.DraftFields(l)
	switch {
	case len(out.Differs) > 0:
		out.State = Differs
	case len(out.DraftDiffers) > 0 || l.Status == tenant.StatusFailed:
		out.State = DraftPending
	default:
		out.State = InSync
	}
	return out
}

// versionFields is what l's deployed version has other than a of the
// commit desired, its modules included.
func versionFields(a *manifest.Action, desired *manifest.Repo, owner string, l *tenant.Action, st *tenant.State) []tenant.Field {
	return append(diff.VersionFields(a, owner, l.Deployed, l.Trigger), diff.PinFields(a, desired, owner, l.Deployed.Modules, st)...)
}

func compareTrigger(t *manifest.Trigger, desired *manifest.Repo, st *tenant.State, owner string) Trigger {
	want := diff.DesiredBindings(t, desired, st, owner)
	have := []diff.Binding{}
	for _, b := range st.Bindings[t.ID] {
		have = append(have, diff.Binding(b))
	}
	return Trigger{Trigger: t.ID, Matches: slices.Equal(want, have), Bindings: want, Live: have}
}

// lookBack finds, for each action whose deployed version differs from the
// commit, the newest earlier commit that holds that version.
func lookBack(ctx context.Context, rep *Report, st *tenant.State, rev string, opts Options) error {
	todo := map[string]*Action{}
	for i := range rep.Actions {
		if rep.Actions[i].State == Differs {
			todo[rep.Actions[i].Action] = &rep.Actions[i]
		}
	}
	if len(todo) == 0 {
		return nil
	}
	byName := st.ByName()
	return opts.History.Log(ctx, Depth, func(crev string, tree fs.FS) (bool, error) {
		if crev == rev {
			return true, nil // the commit itself, compared already
		}
		old, err := manifest.Load(tree, noSecrets(opts))
		if err != nil {
			return true, nil // a commit that does not load holds no version
		}
		_ = old.Validate(st.Catalogue, st.TriggerOf()) // fills in trigger versions; what it refuses cannot match
		owner := ownerOf(old)
		for name, a := range todo {
			l, oa := byName[name], old.Action(name)
			if oa != nil && len(versionFields(oa, old, owner, l, st)) == 0 {
				a.MatchesCommit = crev
				delete(todo, name)
			}
		}
		return len(todo) > 0, nil
	})
}
