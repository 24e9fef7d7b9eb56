package diff_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
)

var (
	modV1  = "module.exports = { claim: (n) => 'https://example.com/' + n };\n"
	modV2  = "module.exports = { claim: (n) => 'https://example.org/' + n };\n"
	modKey = manifest.Secret{Name: "K", FromEnv: "K", Value: "v1"}
)

func desiredModule(name, code string, secrets ...manifest.Secret) *manifest.Module {
	return &manifest.Module{Name: name, Dir: "modules/" + name, CodePath: "modules/" + name + "/index.js", Code: code, Secrets: secrets}
}

// moduleCode is m's code as actionsync publishes it, from an earlier commit.
func moduleCode(m *manifest.Module) string {
	return stamp.ForModule(m, stamp.DefaultOwner, "c0", key).Code(m.Code)
}

// published is the live twin of m whose draft is published as version n.
func published(m *manifest.Module, n int) *tenant.Module {
	return &tenant.Module{ID: "m-" + m.Name, Name: m.Name, Code: moduleCode(m), Secrets: names(m.Secrets), Published: true, Latest: n}
}

func moduleVersion(m *manifest.Module, n int) tenant.ModuleVersion {
	return tenant.ModuleVersion{ID: fmt.Sprintf("%s-v%d", m.Name, n), Number: n, Code: moduleCode(m), Secrets: names(m.Secrets)}
}

func pin(module string, n int) tenant.ModuleRef {
	return tenant.ModuleRef{ModuleID: "m-" + module, Module: module, VersionID: fmt.Sprintf("%s-v%d", module, n), Version: n}
}

// using is a copy of a with modules listed in its action.yaml.
func using(a *manifest.Action, modules ...string) *manifest.Action {
	c := *a
	c.Modules = modules
	return &c
}

// pinned is the synced twin of a whose draft and deployed version pin refs.
func pinned(a *manifest.Action, id string, refs ...tenant.ModuleRef) *tenant.Action {
	l := synced(a, id)
	l.Modules, l.Deployed.Modules = refs, refs
	return l
}

// history is l with versions 1 and 2 of the same code, pinning first and
// second; version 2 is deployed and the draft.
func history(l *tenant.Action, first, second tenant.ModuleRef) *tenant.Action {
	v1, v2 := *l.Deployed, *l.Deployed
	v1.ID, v1.Modules = l.ID+"-v1", []tenant.ModuleRef{first}
	v2.ID, v2.Number, v2.Modules = l.ID+"-v2", 2, []tenant.ModuleRef{second}
	l.Deployed, l.Modules, l.Versions = &v2, v2.Modules, []tenant.Version{v2, v1}
	return l
}

func withModules(r *manifest.Repo, ms ...*manifest.Module) *manifest.Repo {
	r.Modules = ms
	return r
}

func TestComputeModules(t *testing.T) {
	m1, m2 := desiredModule("claims", modV1), desiredModule("claims", modV2)
	a, b := desiredAction("a", codeV1), desiredAction("b", codeV1, apiKeySrc)
	for _, tc := range []computeCase{
		{
			name:    "a module and two actions using it, into an empty tenant",
			desired: withModules(repo([]*manifest.Action{using(a, "claims"), using(b, "claims")}), m1),
			live:    &tenant.State{Modules: []*tenant.Module{}},
			want: []stepSummary{
				{diff.ModuleCreate, "module claims", " moves a,b"},
				{diff.Create, "a", " pins claims@new"},
				{diff.Create, "b", " secrets=API_KEY pins claims@new"},
			},
		},
		{
			name:    "steady state with a module",
			desired: withModules(repo([]*manifest.Action{using(a, "claims"), using(b, "claims")}), m1),
			live: &tenant.State{Modules: []*tenant.Module{published(m1, 1)},
				Actions: []*tenant.Action{pinned(a, "1", pin("claims", 1)), pinned(b, "2", pin("claims", 1))}},
		},
		{
			name:    "an edited module is published, and its actions pin the new version",
			desired: withModules(repo([]*manifest.Action{using(a, "claims"), using(b, "claims")}), m2),
			live: &tenant.State{Modules: []*tenant.Module{withVersions(published(m1, 1), moduleVersion(m1, 1))},
				Actions: []*tenant.Action{pinned(a, "1", pin("claims", 1)), pinned(b, "2", pin("claims", 1))}},
			want: []stepSummary{
				{diff.ModuleUpdate, "module claims", "code moves a,b"},
				{diff.Update, "a", "modules pins claims@new"},
				{diff.Update, "b", "modules pins claims@new"},
			},
		},
		{
			name:    "a reverted module pins its earlier version again, with no publish",
			desired: withModules(repo([]*manifest.Action{using(a, "claims"), using(b, "claims")}), m1),
			live: &tenant.State{
				Modules: []*tenant.Module{withVersions(published(m2, 2), moduleVersion(m2, 2), moduleVersion(m1, 1))},
				Actions: []*tenant.Action{
					history(synced(a, "1"), pin("claims", 1), pin("claims", 2)),
					history(synced(b, "2"), pin("claims", 1), pin("claims", 2)),
				}},
			want: []stepSummary{
				{diff.ModuleRollback, "module claims", "claims-v1 moves a,b"},
				{diff.Rollback, "a", "1-v1 pins claims@1"},
				{diff.Rollback, "b", "2-v1 pins claims@1"},
			},
		},
		{
			name:    "after the revert, nothing",
			desired: withModules(repo([]*manifest.Action{using(a, "claims"), using(b, "claims")}), m1),
			live: func() *tenant.State {
				l := withVersions(published(m1, 2), moduleVersion(m2, 2), moduleVersion(m1, 1))
				l.Published = false
				return &tenant.State{Modules: []*tenant.Module{l},
					Actions: []*tenant.Action{pinned(a, "1", pin("claims", 1)), pinned(b, "2", pin("claims", 1))}}
			}(),
		},
		{
			name:    "an action pinning an older version equal to the commit is not moved",
			desired: withModules(repo([]*manifest.Action{using(a, "claims"), using(b, "claims")}), m1),
			live: &tenant.State{Modules: []*tenant.Module{withVersions(published(m1, 3), moduleVersion(m1, 3), moduleVersion(m2, 2), moduleVersion(m1, 1))},
				Actions: []*tenant.Action{pinned(a, "1", pin("claims", 1)), pinned(b, "2", pin("claims", 3))}},
		},
		{
			name:    "a draft that matches but is not published is published",
			desired: withModules(repo([]*manifest.Action{using(a, "claims")}), m2),
			live: func() *tenant.State {
				l := withVersions(published(m2, 1), moduleVersion(m1, 1))
				l.Published = false
				return &tenant.State{Modules: []*tenant.Module{l}, Actions: []*tenant.Action{pinned(a, "1", pin("claims", 1))}}
			}(),
			want: []stepSummary{{diff.ModuleUpdate, "module claims", " moves a"}, {diff.Update, "a", "modules pins claims@new"}},
		},
		{
			name:    "a rotated module secret publishes a new version",
			desired: withModules(repo([]*manifest.Action{using(a, "claims")}), desiredModule("claims", modV1, manifest.Secret{Name: "K", FromEnv: "K", Value: "v2"})),
			live: &tenant.State{Modules: []*tenant.Module{withVersions(published(desiredModule("claims", modV1, modKey), 1))},
				Actions: []*tenant.Action{pinned(a, "1", pin("claims", 1))}},
			want: []stepSummary{{diff.ModuleUpdate, "module claims", "secrets secrets=K moves a"}, {diff.Update, "a", "modules pins claims@new"}},
		},
		{
			name:    "an action that stops using a module is updated",
			desired: withModules(repo([]*manifest.Action{a, using(b, "claims")}), m1),
			live: &tenant.State{Modules: []*tenant.Module{published(m1, 1)},
				Actions: []*tenant.Action{pinned(a, "1", pin("claims", 1)), pinned(b, "2", pin("claims", 1))}},
			want: []stepSummary{{diff.Update, "a", "modules"}},
		},
		{
			name:    "a module the repo no longer holds is deleted with --prune, after the action stops using it",
			desired: repo([]*manifest.Action{a}),
			live: &tenant.State{Modules: []*tenant.Module{published(m1, 1)},
				Actions: []*tenant.Action{pinned(a, "1", pin("claims", 1))}},
			opts: diff.Options{Prune: true},
			want: []stepSummary{{diff.Update, "a", "modules"}, {diff.ModuleDelete, "module claims", ""}},
		},
		{
			name:      "without --prune it is left alone",
			desired:   repo([]*manifest.Action{a}),
			live:      &tenant.State{Modules: []*tenant.Module{published(m1, 1)}, Actions: []*tenant.Action{synced(a, "1")}},
			unmanaged: []string{"module claims: a module not in the repo; --prune would delete it"},
		},
		{
			name:    "nor is it deleted while an action the repo does not hold uses it",
			desired: repo([]*manifest.Action{a}),
			live: func() *tenant.State {
				hand := pinned(desiredAction("handmade", codeV1), "9", pin("claims", 1))
				hand.Code, hand.Deployed.Code = codeV1, codeV1
				return &tenant.State{Modules: []*tenant.Module{published(m1, 1)}, Actions: []*tenant.Action{synced(a, "1"), hand}}
			}(),
			opts: diff.Options{Prune: true},
			unmanaged: []string{
				"handmade: made outside actionsync (no stamp): never deleted nor unbound; add it to the repo to adopt it",
				"module claims: a module used by action handmade, which the repo does not hold: not deleted (the API answers 412)",
			},
		},
		{
			name:    "a module made by hand is adopted, and its actions pin the version that carries the stamp",
			desired: withModules(repo([]*manifest.Action{using(a, "claims")}), m1),
			live: func() *tenant.State {
				l := withVersions(published(m1, 1), tenant.ModuleVersion{ID: "claims-v1", Number: 1, Code: modV1})
				l.Code = modV1
				return &tenant.State{Modules: []*tenant.Module{l}, Actions: []*tenant.Action{pinned(a, "1", pin("claims", 1))}}
			}(),
			want: []stepSummary{{diff.ModuleAdopt, "module claims", "owner moves a"}, {diff.Update, "a", "modules pins claims@new"}},
		},
		{
			name:    "a module another owner wrote is refused",
			desired: withModules(repo([]*manifest.Action{a}), m1),
			live: func() *tenant.State {
				l := published(m1, 1)
				l.Code = stamp.ForModule(m1, "other-team", "c0", key).Code(m1.Code)
				return &tenant.State{Modules: []*tenant.Module{l}, Actions: []*tenant.Action{synced(a, "1")}}
			}(),
			err: diff.ErrForeign,
		},
	} {
		t.Run(tc.name, tc.check)
	}
}

func withVersions(l *tenant.Module, vs ...tenant.ModuleVersion) *tenant.Module {
	l.Versions = append([]tenant.ModuleVersion{}, vs...)
	return l
}

// TestModuleReads: a plan reads the modules only where it needs them, and
// a module's versions only where the listing cannot tell.
func TestModuleReads(t *testing.T) {
	m1, m2 := desiredModule("claims", modV1), desiredModule("claims", modV2)
	a := desiredAction("a", codeV1)
	steady := &tenant.State{Modules: []*tenant.Module{published(m1, 1)}, Actions: []*tenant.Action{pinned(a, "1", pin("claims", 1))}}
	for _, tc := range []struct {
		name     string
		desired  *manifest.Repo
		live     *tenant.State
		opts     diff.Options
		need     bool
		versions []string
		rollback []string
	}{
		{name: "no modules anywhere", desired: repo([]*manifest.Action{a}), live: &tenant.State{Actions: []*tenant.Action{synced(a, "1")}}},
		{name: "no modules, but --prune", desired: repo([]*manifest.Action{a}), live: &tenant.State{}, opts: diff.Options{Prune: true}, need: true},
		{name: "the tenant's action pins one", desired: repo([]*manifest.Action{a}), live: steady, need: true, rollback: []string{"a"}},
		{name: "steady", desired: withModules(repo([]*manifest.Action{using(a, "claims")}), m1), live: steady, need: true},
		{
			name: "an edit reads the versions, and no action's versions", desired: withModules(repo([]*manifest.Action{using(a, "claims")}), m2),
			live: steady, need: true, versions: []string{"claims"},
		},
		{
			name: "an action pinning another version than the latest", desired: withModules(repo([]*manifest.Action{using(a, "claims")}), m1),
			live: &tenant.State{Modules: []*tenant.Module{published(m1, 2)}, Actions: []*tenant.Action{pinned(a, "1", pin("claims", 1))}},
			need: true, versions: []string{"claims"}, rollback: []string{"a"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.SecretKey = key
			if got := diff.NeedModules(tc.desired, tc.live, tc.opts); got != tc.need {
				t.Errorf("NeedModules = %v, want %v", got, tc.need)
			}
			if got := diff.ModuleVersionCandidates(tc.desired, tc.live, tc.opts); !slices.Equal(got, tc.versions) {
				t.Errorf("ModuleVersionCandidates = %v, want %v", got, tc.versions)
			}
			if got := diff.RollbackCandidates(tc.desired, tc.live, tc.opts); !slices.Equal(got, tc.rollback) {
				t.Errorf("RollbackCandidates = %v, want %v", got, tc.rollback)
			}
		})
	}
}
