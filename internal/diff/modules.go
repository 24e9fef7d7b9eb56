package diff

import (
	"fmt"
	"slices"
	"strings"

	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
)

// Pin is an action's use of one Action Module: the module's name and the
// number of the published version it pins; 0 for the version a step of
// the plan publishes (its number is known once published).
type Pin struct {
	Module  string `json:"module"`
	Version int    `json:"version,omitempty"`
}

// String shows the pin as module@number, or module@new.
func (p Pin) String() string {
	if p.Version == 0 {
		return p.Module + "@new"
	}
	return fmt.Sprintf("%s@%d", p.Module, p.Version)
}

// modulePlan is what a plan makes of one module of the repo: the version
// its actions are to pin, and the step that gets it there, if any.
type modulePlan struct {
	live *tenant.Module // nil when the plan creates it
	want content
	// target is the number of the version the repo's actions pin; 0 when
	// a step of the plan publishes a new one.
	target int
	step   *Step
}

// moduleSet is the repo's modules, planned, by name. A nil set knows no
// module: pins are taken as the tenant numbers them.
type moduleSet map[string]*modulePlan

// pinOK reports whether a pin of version n holds what the commit holds:
// the target, or a loaded version whose content equals the commit's.
func (mp *modulePlan) pinOK(n int) bool {
	switch {
	case mp.target == 0:
		return false
	case n == mp.target:
		return true
	}
	v := mp.live.Version(n)
	return v != nil && moduleVersionContent(v).equal(mp.want)
}

// canonical is refs as the plan compares them, sorted by module: a pin of
// a version that holds what the commit holds counts as the target's, so
// that an action pinning an equal version is not moved.
func (ms moduleSet) canonical(refs []tenant.ModuleRef) []Pin {
	out := make([]Pin, 0, len(refs))
	for _, r := range refs {
		p := Pin{Module: r.Module, Version: r.Version}
		if mp := ms[r.Module]; mp != nil && mp.pinOK(r.Version) {
			p.Version = mp.target
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Pin) int { return strings.Compare(a.Module, b.Module) })
	return out
}

// desired is the pins the commit wants of a: each module it uses, at its
// target.
func (ms moduleSet) desired(a *manifest.Action) []Pin {
	out := make([]Pin, 0, len(a.Modules))
	for _, name := range a.Modules {
		p := Pin{Module: name}
		if mp := ms[name]; mp != nil {
			p.Version = mp.target
		}
		out = append(out, p)
	}
	return out
}

// publishes reports whether any module a uses gets a new version in this
// plan, so that no existing version of a can equal the commit.
func (ms moduleSet) publishes(a *manifest.Action) bool {
	return slices.ContainsFunc(a.Modules, func(name string) bool { return ms[name] != nil && ms[name].target == 0 })
}

func desiredModule(m *manifest.Module, owner string, key []byte) content {
	return content{Body: endLine(m.Code), Stamp: stamp.ForModule(m, owner, "", key), Stamped: true, Deps: m.Dependencies}
}

func moduleDraft(l *tenant.Module) content {
	return liveContent(l.Code, "", l.Dependencies, tenant.TriggerRef{}, nil)
}

func moduleVersionContent(v *tenant.ModuleVersion) content {
	return liveContent(v.Code, "", v.Dependencies, tenant.TriggerRef{}, nil)
}

// planModules plans every module of the repo, by name.
func planModules(desired *manifest.Repo, live *tenant.State, o Options) (moduleSet, []error) {
	ms := moduleSet{}
	var errs []error
	for _, m := range desired.Modules {
		mp, err := planModule(m, live.Module(m.Name), o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ms[m.Name] = mp
	}
	return ms, errs
}

// planModule chooses the version m's actions pin, and the step that makes
// it: none when a published version holds what the commit holds (the
// latest, or, after a revert, an earlier one whose draft already is it); a
// rollback of the draft to such a version, with no publish; else an
// update of the draft and a publish.
func planModule(m *manifest.Module, l *tenant.Module, o Options) (*modulePlan, error) {
	mp := &modulePlan{live: l, want: desiredModule(m, o.owner(), o.SecretKey)}
	if l == nil {
		mp.step = &Step{Kind: ModuleCreate, Module: m.Name, Reason: "not in the tenant", Secrets: secretNames(m.Secrets)}
		return mp, nil
	}
	s := Step{Module: m.Name, ModuleID: l.ID}
	draft := moduleDraft(l)
	switch who, from := moduleOwnerOf(l, o.owner()); {
	case who == foreign && !o.AdoptForeign:
		return nil, &ForeignError{Action: m.Name, Owner: from, Want: o.owner(), Module: true}
	case who != ours:
		s.Kind, s.Fields = ModuleAdopt, mp.want.differences(draft)
		s.Secrets = changedSecrets(mp.want, m.Secrets, draft, l.Secrets)
		s.Reason = moduleAdoptReason(from)
		mp.step = &s
		return mp, nil
	}
	return mp, mp.planOwned(s, m, draft)
}

// planOwned plans a module this owner wrote.
func (mp *modulePlan) planOwned(s Step, m *manifest.Module, draft content) error {
	l := mp.live
	fields := mp.want.differences(draft)
	if len(fields) == 0 && l.Published && l.Latest > 0 {
		mp.target = l.Latest
		return nil
	}
	v := newestEqual(mp.want, l)
	switch {
	case v != nil && len(fields) == 0:
		mp.target = v.Number
		return nil
	case v != nil:
		mp.target = v.Number
		s.Kind, s.Fields, s.Version = ModuleRollback, fields, &VersionRef{ID: v.ID, Number: v.Number}
		s.Reason = fmt.Sprintf("the commit equals version %d", v.Number)
	case len(fields) == 0:
		s.Kind, s.Reason = ModuleUpdate, "the draft matches the commit but is not published"
	default:
		s.Kind, s.Fields = ModuleUpdate, fields
		if slices.Contains(fields, tenant.FieldSecrets) {
			s.Secrets = changedSecrets(mp.want, m.Secrets, draft, l.Secrets)
		}
		s.Reason = "the draft differs: " + tenant.JoinFields(fields)
	}
	mp.step = &s
	return nil
}

// newestEqual is the newest loaded version of l that holds want.
func newestEqual(want content, l *tenant.Module) *tenant.ModuleVersion {
	var best *tenant.ModuleVersion
	for i := range l.Versions {
		v := &l.Versions[i]
		if moduleVersionContent(v).equal(want) && (best == nil || v.Number > best.Number) {
			best = v
		}
	}
	return best
}

func moduleAdoptReason(from string) string {
	who := "made outside actionsync (no stamp)"
	if from != "" {
		who = "written by owner " + from
	}
	return who + ": adopt it, one update and publish that add this owner's stamp; the actions that use it pin the new version"
}

// moduleOwnerOf says who wrote l, and the other owner's name when foreign.
func moduleOwnerOf(l *tenant.Module, owner string) (ownership, string) {
	st, ok := stamp.OfModule(l)
	return whose(st, ok, owner)
}

// moduleSteps are the steps of the planned modules, by name, each with the
// actions of steps that move to the version it makes, and its code diff:
// made here, for the plan alone, not in planModules, which
// RollbackCandidates also calls for the versions modules will pin.
func (ms moduleSet) moduleSteps(desired *manifest.Repo, actionSteps []Step) []Step {
	var out []Step
	for _, m := range desired.Modules {
		mp := ms[m.Name]
		if mp == nil || mp.step == nil {
			continue
		}
		s := *mp.step
		from, old := "/dev/null", ""
		if mp.live != nil {
			from, old = "tenant/modules/"+m.Name, moduleDraft(mp.live).Body
		}
		s.CodeDiff = Unified(from, m.CodePath, old, mp.want.Body)
		for _, as := range actionSteps {
			if slices.Contains(as.moved, m.Name) {
				s.Moves = append(s.Moves, as.Action)
			}
		}
		out = append(out, s)
	}
	return out
}

// moved names the modules whose pin the step of a changes: those of want
// that the live pins have at another version, or not at all.
func moved(want, live []Pin) []string {
	var out []string
	for _, p := range want {
		if !slices.Contains(live, p) {
			out = append(out, p.Module)
		}
	}
	return out
}

// planModulePrune lists the tenant's modules the repo does not hold:
// deleted with prune when this owner wrote them and no action will use
// them once the plan is applied (Auth0 refuses to delete a module in use),
// unmanaged otherwise.
func planModulePrune(desired *manifest.Repo, live *tenant.State, o Options, p *Plan) {
	deleted := map[string]bool{}
	for _, s := range p.Steps {
		if s.Kind == Delete {
			deleted[s.Action] = true
		}
	}
	for _, l := range sortedModules(live.Modules) {
		if desired.Module(l.Name) != nil {
			continue
		}
		if reason := moduleKeepReason(desired, live, l, o, deleted); reason != "" {
			p.Unmanaged = append(p.Unmanaged, Unmanaged{Module: l.Name, Reason: reason})
			continue
		}
		p.Steps = append(p.Steps, Step{Kind: ModuleDelete, Module: l.Name, ModuleID: l.ID, Reason: "not in the repo (--prune), and no action uses it once the plan is applied"})
	}
}

func moduleKeepReason(desired *manifest.Repo, live *tenant.State, l *tenant.Module, o Options, deleted map[string]bool) string {
	switch who, from := moduleOwnerOf(l, o.owner()); {
	case who == unstamped:
		return "a module made outside actionsync (no stamp): never deleted; add it to the repo to adopt it"
	case who == foreign:
		return fmt.Sprintf("a module written by owner %s, not %s: never deleted", from, o.owner())
	}
	for _, a := range sortedByName(live.Actions) {
		if desired.Action(a.Name) == nil && !deleted[a.Name] && usesModule(a, l) {
			return "a module used by action " + a.Name + ", which the repo does not hold: not deleted (the API answers 412)"
		}
	}
	if !o.Prune {
		return "a module not in the repo; --prune would delete it"
	}
	return ""
}

// usesModule reports whether a's draft or deployed version pins m.
func usesModule(a *tenant.Action, m *tenant.Module) bool {
	return pinsAny(a, func(r tenant.ModuleRef) bool { return r.ModuleID == m.ID || r.ModuleID == "" && r.Module == m.Name })
}

// pinsAny reports whether a's draft or its deployed version has a pin f
// holds for.
func pinsAny(a *tenant.Action, f func(tenant.ModuleRef) bool) bool {
	return slices.ContainsFunc(a.Modules, f) || a.Deployed != nil && slices.ContainsFunc(a.Deployed.Modules, f)
}

func sortedModules(ms []*tenant.Module) []*tenant.Module {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b *tenant.Module) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// NeedModules reports whether a plan of desired needs the tenant's modules
// read: the repo has modules, an action of the tenant pins one (to unpin
// it, or to keep a module in use), or prune may delete this owner's. A repo
// and a tenant without modules so cost no read of them.
func NeedModules(desired *manifest.Repo, live *tenant.State, opts Options) bool {
	if len(desired.Modules) > 0 || opts.Prune {
		return true
	}
	pinned := func(tenant.ModuleRef) bool { return true }
	return slices.ContainsFunc(live.Actions, func(a *tenant.Action) bool { return pinsAny(a, pinned) })
}

// ModuleVersionCandidates names the modules of the repo whose versions a
// plan needs read (call it once the modules are read): those whose draft
// is not the commit's or is not published (is a kept version the commit's,
// as after a revert?), or that an action of the repo pins at a version
// other than the latest (does it hold the commit's?). A module whose
// published draft is the commit's, and whose actions pin its latest
// version, costs no read.
func ModuleVersionCandidates(desired *manifest.Repo, live *tenant.State, opts Options) []string {
	var out []string
	for _, m := range desired.Modules {
		l := live.Module(m.Name)
		if l == nil {
			continue
		}
		settled := l.Published && l.Latest > 0 && desiredModule(m, opts.owner(), opts.SecretKey).equal(moduleDraft(l))
		if !settled || pinsOther(desired, live, l) {
			out = append(out, m.Name)
		}
	}
	return out
}

// pinsOther reports whether an action of the repo pins a version of l
// other than its latest, in its draft or its deployed version.
func pinsOther(desired *manifest.Repo, live *tenant.State, l *tenant.Module) bool {
	other := func(r tenant.ModuleRef) bool { return r.Module == l.Name && r.Version != l.Latest }
	for _, name := range desired.Users(l.Name) {
		a := live.Action(name)
		if a != nil && pinsAny(a, other) {
			return true
		}
	}
	return false
}

// ModuleVersionFields names the fields in which version v of a live module
// differs from module m of a commit, written by owner, secrets compared by
// name (a commit read for a report holds no secret value).
func ModuleVersionFields(m *manifest.Module, owner string, v *tenant.ModuleVersion) []tenant.Field {
	want, got := desiredModule(m, owner, nil), moduleVersionContent(v)
	want.Stamp.Secrets, got.Stamp.Secrets = secretsByName(want.Stamp.Secrets), secretsByName(got.Stamp.Secrets)
	return want.differences(got)
}

// PinFields is [modules] when the pins refs of an action (of its deployed
// version, say) are not what action a of the commit desired uses: the
// same modules, each at a version that holds what the commit holds
// (compared as ModuleVersionFields does; live's module versions must be
// loaded). Nil when they are.
func PinFields(a *manifest.Action, desired *manifest.Repo, owner string, refs []tenant.ModuleRef, live *tenant.State) []tenant.Field {
	names := make([]string, 0, len(refs))
	for _, r := range refs {
		names = append(names, r.Module)
		m, l := desired.Module(r.Module), live.Module(r.Module)
		if m == nil || l == nil || l.Version(r.Version) == nil || len(ModuleVersionFields(m, owner, l.Version(r.Version))) > 0 {
			return []tenant.Field{tenant.FieldModules}
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, a.Modules) && len(names)+len(a.Modules) > 0 {
		return []tenant.Field{tenant.FieldModules}
	}
	return nil
}
