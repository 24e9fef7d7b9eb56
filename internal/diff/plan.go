// Package diff computes a Plan from the desired state (a manifest.Repo) and
// the live state of a tenant (a tenant.State), as a pure, deterministic
// function, and renders plans as text, Markdown and JSON.
//
// Action Modules come first: a module whose published versions hold
// nothing the commit holds is updated and published, and the actions that
// use it pin the new version; one whose earlier version holds it (a
// revert) has its draft rolled back to that version, and the actions pin
// it again, with no publish; an unchanged one costs nothing.
package diff

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
)

// FormatVersion is the version of the JSON plan schema (docs/PLAN.md).
const FormatVersion = 1

// Kind is what a step does.
type Kind string

// The kinds of steps, in the order a plan lists them.
const (
	Create   Kind = "create"   // POST the action, then deploy
	Adopt    Kind = "adopt"    // an action made elsewhere: PATCH it to carry the stamp, then deploy
	Update   Kind = "update"   // PATCH the changed fields, then deploy
	Rollback Kind = "rollback" // deploy an earlier version, draft updated too: no build
	Deploy   Kind = "deploy"   // the draft matches the commit but is not deployed
	Bind     Kind = "bind"     // one PATCH of a trigger's whole binding list
	Delete   Kind = "delete"   // --prune: unbound first, then DELETE

	// The kinds of Action Module steps, which come before the actions':
	// the version an action pins is made first.
	ModuleCreate   Kind = "module-create"   // POST the module, published at once: version 1
	ModuleAdopt    Kind = "module-adopt"    // a module made elsewhere: PATCH it to carry the stamp, then publish
	ModuleUpdate   Kind = "module-update"   // PATCH the changed fields of the draft, then publish a version
	ModuleRollback Kind = "module-rollback" // the commit equals a published version: the draft returns to it, no publish
	ModuleDelete   Kind = "module-delete"   // --prune, once no action uses it: DELETE, last of all
)

// IsModule reports whether k is the kind of an Action Module step.
func (k Kind) IsModule() bool { return strings.HasPrefix(string(k), "module-") }

// Plan is what it takes to make the tenant match the commit.
type Plan struct {
	FormatVersion int `json:"format_version"`
	// Revision is the commit planned (set by the caller; "" when unknown).
	Revision  string      `json:"revision,omitempty"`
	Steps     []Step      `json:"steps"`
	Unmanaged []Unmanaged `json:"unmanaged"`

	modules moduleSet
}

// ModuleVersion is the number of the version of the repo's module name
// that the plan's actions pin; 0 when a step of the plan publishes it (or
// the repo has no such module).
func (p *Plan) ModuleVersion(name string) int {
	if mp := p.modules[name]; mp != nil {
		return mp.target
	}
	return 0
}

// Step is one change, with why it is needed.
type Step struct {
	Kind     Kind   `json:"kind"`
	Action   string `json:"action,omitempty"`
	ActionID string `json:"action_id,omitempty"` // "" for create
	// Module and ModuleID name the Action Module of a module step.
	Module   string `json:"module,omitempty"`
	ModuleID string `json:"module_id,omitempty"` // "" for module-create
	Trigger  string `json:"trigger,omitempty"`
	Reason   string `json:"reason"`
	// Fields names what differs.
	Fields []tenant.Field `json:"fields,omitempty"`
	// Secrets names the secrets whose value changed, never their values.
	Secrets  []string `json:"secrets_changed,omitempty"`
	CodeDiff string   `json:"code_diff,omitempty"` // unified diff, live → commit
	// Version is the rollback target.
	Version *VersionRef `json:"version,omitempty"`
	// Bindings is a bind step's new order; Previous the live one.
	Bindings []Binding `json:"bindings,omitempty"`
	Previous []Binding `json:"previous,omitempty"`
	// Modules are the module versions an action step makes the action pin,
	// when they change; PreviousModules the draft's pins.
	Modules         []Pin `json:"modules,omitempty"`
	PreviousModules []Pin `json:"previous_modules,omitempty"`
	// Moves names the actions a module step moves to the version it makes.
	Moves []string `json:"actions,omitempty"`

	moved []string // the modules whose pin an action step changes
}

// VersionRef names a version of an action or a module.
type VersionRef struct {
	ID     string `json:"id"`
	Number int    `json:"number"`
}

// Binding is one entry of a trigger's order.
type Binding struct {
	Action      string `json:"action"`
	DisplayName string `json:"display_name"`
}

// Unmanaged is a tenant action or module the repo does not hold, left
// alone, and why.
type Unmanaged struct {
	Action string `json:"action,omitempty"`
	Module string `json:"module,omitempty"`
	Reason string `json:"reason"`
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Steps) == 0 }

// Options shape a plan.
type Options struct {
	// Prune deletes tenant actions the repo does not hold.
	Prune bool
	// AllowEmpty lets a plan delete every action of the tenant.
	AllowEmpty bool
	// SecretKey keys the secrets' fingerprints (internal/stamp).
	SecretKey []byte
	// Owner is the owner the repo writes its actions as; "" means
	// stamp.DefaultOwner.
	Owner string
	// AdoptForeign lets the repo take over actions another owner wrote;
	// without it such an action is an error (ErrForeign).
	AdoptForeign bool
	// MaxActions is the tenant's limit of actions, Marketplace
	// integrations included; 0 means DefaultMaxActions.
	MaxActions int
}

// DefaultMaxActions is Auth0's default entity limit of actions per tenant.
const DefaultMaxActions = 100

// ErrDeletesAll refuses a plan that would delete every action this owner
// wrote.
var ErrDeletesAll = errors.New("the plan deletes every action this owner wrote; refusing without --allow-empty")

// ErrTooManyActions refuses a plan that would create actions past the
// tenant's limit.
var ErrTooManyActions = errors.New("too many actions")

// ErrTooManyBindings refuses a plan that would bind more actions to a
// trigger than Auth0 allows (manifest.MaxBindings): the repo's, and those
// bound there that it does not manage and keeps.
var ErrTooManyBindings = errors.New("too many bindings")

// Compute plans the steps that make live match desired. It is a pure
// function of its inputs: the same inputs give the same plan. It refuses,
// before any step is taken, a repo that holds another owner's actions
// (ForeignError, unless AdoptForeign) or a Marketplace integration, a plan
// that deletes every action this owner wrote (ErrDeletesAll, unless
// AllowEmpty), and one that creates past the tenant's limit
// (ErrTooManyActions).
func Compute(desired *manifest.Repo, live *tenant.State, opts Options) (*Plan, error) {
	p := &Plan{FormatVersion: FormatVersion, Steps: []Step{}, Unmanaged: []Unmanaged{}}
	ms, errs := planModules(desired, live, opts)
	byName := live.ByName()
	var actions []Step
	for _, a := range desired.Actions {
		s, ok, err := planAction(a, byName[a.Name], opts, ms)
		switch {
		case err != nil:
			errs = append(errs, err)
		case ok:
			actions = append(actions, s)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p.modules = ms
	p.Steps = append(append(p.Steps, ms.moduleSteps(desired, actions)...), actions...)
	for _, t := range desired.Triggers {
		if e := othersNamed(t, desired, byName, opts.owner()); len(e) > 0 {
			errs = append(errs, e...)
			continue
		}
		s, ok := PlanTrigger(t, desired, live, opts.owner())
		switch {
		case len(s.Bindings) > manifest.MaxBindings:
			errs = append(errs, fmt.Errorf("%w: trigger %s would hold %d bindings, %d of triggers.yaml and %d the repo does not manage; Auth0 allows %d",
				ErrTooManyBindings, t.ID, len(s.Bindings), len(t.Bindings), len(s.Bindings)-len(t.Bindings), manifest.MaxBindings))
		case ok:
			p.Steps = append(p.Steps, s)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	deletes := planPrune(desired, live, opts, p)
	if deletes > 0 && deletes == countOwned(live, opts.owner()) && !opts.AllowEmpty {
		return nil, ErrDeletesAll
	}
	planModulePrune(desired, live, opts, p)
	if err := checkActionLimit(p, live, opts.maxActions()); err != nil {
		return nil, err
	}
	return p, nil
}

func (o Options) maxActions() int {
	if o.MaxActions <= 0 {
		return DefaultMaxActions
	}
	return o.MaxActions
}

// checkActionLimit refuses a plan that creates actions and leaves more
// than limit in the tenant. A tenant already past the limit (raised by
// Auth0 for its plan) is no error while the plan adds none.
func checkActionLimit(p *Plan, live *tenant.State, limit int) error {
	n := map[Kind]int{}
	for _, s := range p.Steps {
		n[s.Kind]++
	}
	after := len(live.Actions) + n[Create] - n[Delete]
	if n[Create] == 0 || after <= limit {
		return nil
	}
	return fmt.Errorf("%w: the plan leaves %d actions in the tenant (%d now, %d to create, %d to delete), over the limit of %d actions per tenant (Auth0's entity limit, Marketplace integrations included; --max-actions raises it where the tenant's plan allows more)",
		ErrTooManyActions, after, len(live.Actions), n[Create], n[Delete], limit)
}

func (o Options) owner() string {
	if o.Owner == "" {
		return stamp.DefaultOwner
	}
	return o.Owner
}

func planAction(a *manifest.Action, l *tenant.Action, o Options, ms moduleSet) (Step, bool, error) {
	want := desiredContent(a, o.owner(), o.SecretKey, ms.desired(a))
	if l == nil {
		s := Step{Kind: Create, Action: a.Name, Trigger: a.Trigger.ID, Reason: "not in the tenant",
			CodeDiff: Unified("/dev/null", a.CodePath, "", want.Body), Secrets: secretNames(a.Secrets)}
		if len(want.Pins) > 0 {
			s.Modules, s.moved = want.Pins, moved(want.Pins, nil)
		}
		return s, true, nil
	}
	s := Step{Action: a.Name, ActionID: l.ID, Trigger: a.Trigger.ID}
	switch who, from := ownerOf(l, o.owner()); {
	case who == integration:
		return Step{}, false, fmt.Errorf("action %s is a Marketplace integration in the tenant: a repo cannot hold it (bind it by name in triggers.yaml)", a.Name)
	case who == foreign && !o.AdoptForeign:
		return Step{}, false, &ForeignError{Action: a.Name, Owner: from, Want: o.owner()}
	case who != ours:
		return withPins(adopt(s, a, l, want, from, ms), want, l, ms), true, nil
	}
	s, ok := planOwned(s, a, l, want, ms)
	return withPins(s, want, l, ms), ok, nil
}

// withPins adds to a step that changes an action's modules the pins it
// makes, the draft's, and the modules it moves.
func withPins(s Step, want content, l *tenant.Action, ms moduleSet) Step {
	if !slices.Contains(s.Fields, tenant.FieldModules) {
		return s
	}
	s.Modules, s.PreviousModules = want.Pins, DraftPins(l)
	s.moved = moved(want.Pins, ms.canonical(l.Modules))
	return s
}

// planOwned plans an action this owner wrote.
func planOwned(s Step, a *manifest.Action, l *tenant.Action, want content, ms moduleSet) (Step, bool) {
	draft := draftContent(l, ms)
	if fields := want.differences(draft); len(fields) > 0 {
		s.Fields = fields
		if slices.Contains(fields, tenant.FieldSecrets) {
			s.Secrets = changedSecrets(want, a.Secrets, draft, l.Secrets)
		}
		s.CodeDiff = Unified("tenant/"+a.Name, a.CodePath, draft.Body, want.Body)
		if v := rollbackTarget(want, l, ms); v != nil {
			s.Kind, s.Version = Rollback, &VersionRef{ID: v.ID, Number: v.Number}
			s.Reason = fmt.Sprintf("the commit equals version %d", v.Number)
			return s, true
		}
		s.Kind, s.Reason = Update, "the draft differs: "+tenant.JoinFields(fields)+goneVersions(l)
		return s, true
	}
	if l.Status == tenant.StatusFailed {
		// The same content failed to build (a registry outage, say): only a
		// new build can help, and only a write makes one.
		s.Kind, s.Fields, s.Reason = Update, []tenant.Field{tenant.FieldCode}, "the draft's last build failed: rebuild it"
		return s, true
	}
	if l.Deployed == nil || !versionContent(l.Deployed, l.Trigger, ms).equal(want) {
		s.Kind, s.Reason = Deploy, "the draft matches the commit but is not deployed"
		return s, true
	}
	return Step{}, false
}

// secretNames are the names of secrets, as a step lists them.
func secretNames(secrets []manifest.Secret) []string {
	var out []string
	for _, s := range secrets {
		out = append(out, s.Name)
	}
	return out
}

// rollbackTarget is the newest version of l that equals want, if versions
// were loaded.
func rollbackTarget(want content, l *tenant.Action, ms moduleSet) *tenant.Version {
	var best *tenant.Version
	for i, v := range l.Versions {
		if versionContent(&v, l.Trigger, ms).equal(want) && (best == nil || v.Number > best.Number) {
			best = &l.Versions[i]
		}
	}
	return best
}

// PlanTrigger plans one managed trigger's bindings from live (its
// Bindings[t.ID] and the owners of the actions bound): a bind step when they
// differ from the order the commit wants (DesiredBindings). The engine calls
// it again with the bindings read just before it writes them, so that what
// another writer did meanwhile is seen.
func PlanTrigger(t *manifest.Trigger, desired *manifest.Repo, live *tenant.State, owner string) (Step, bool) {
	want := DesiredBindings(t, desired, live, owner)
	have := make([]Binding, len(live.Bindings[t.ID]))
	for i, b := range live.Bindings[t.ID] {
		have[i] = Binding(b)
	}
	if slices.Equal(want, have) {
		return Step{}, false
	}
	return Step{Kind: Bind, Trigger: t.ID, Reason: bindReason(want, have), Bindings: want, Previous: have}, true
}

func bindReason(want, have []Binding) string {
	names := func(bs []Binding) []string {
		out := make([]string, len(bs))
		for i, b := range bs {
			out[i] = b.Action
		}
		return out
	}
	w, h := names(want), names(have)
	var parts []string
	for _, n := range w {
		if !slices.Contains(h, n) {
			parts = append(parts, "bind "+n)
		}
	}
	for _, n := range h {
		if !slices.Contains(w, n) {
			parts = append(parts, "unbind "+n)
		}
	}
	switch {
	case len(parts) > 0:
	case slices.Equal(w, h):
		parts = append(parts, "display names differ")
	default:
		parts = append(parts, "reorder")
	}
	return strings.Join(parts, ", ")
}

// planPrune lists the tenant actions the repo does not hold: deleted with
// prune when this owner wrote them and it is safe, unmanaged otherwise. It
// returns the deletes.
func planPrune(desired *manifest.Repo, live *tenant.State, o Options, p *Plan) int {
	deletes := 0
	for _, l := range sortedByName(live.Actions) {
		if desired.Action(l.Name) != nil {
			continue
		}
		reason := keepReason(desired, live, l, o)
		if reason != "" {
			p.Unmanaged = append(p.Unmanaged, Unmanaged{Action: l.Name, Reason: reason})
			continue
		}
		p.Steps = append(p.Steps, Step{Kind: Delete, Action: l.Name, ActionID: l.ID, Trigger: l.Trigger.ID, Reason: "not in the repo (--prune)"})
		deletes++
	}
	return deletes
}

func keepReason(desired *manifest.Repo, live *tenant.State, l *tenant.Action, o Options) string {
	switch who, from := ownerOf(l, o.owner()); {
	case who == integration:
		return "a Marketplace integration: never deleted"
	case who == unstamped:
		return "made outside actionsync (no stamp): never deleted nor unbound; add it to the repo to adopt it"
	case who == foreign:
		return fmt.Sprintf("written by owner %s, not %s: never deleted nor unbound", from, o.owner())
	case boundInRepo(desired, l.Name):
		return "not in the repo, but triggers.yaml binds it"
	case !o.Prune:
		return "not in the repo; --prune would delete it"
	}
	for trig, bs := range live.Bindings {
		if desired.Trigger(trig) == nil && slices.ContainsFunc(bs, func(b tenant.Binding) bool { return b.Action == l.Name }) {
			return "bound to " + trig + ", a trigger the repo does not manage: not deleted (the API answers 409)"
		}
	}
	return ""
}

func boundInRepo(desired *manifest.Repo, name string) bool {
	for _, t := range desired.Triggers {
		for _, b := range t.Bindings {
			if b.Action == name {
				return true
			}
		}
	}
	return false
}

// countOwned counts the live actions owner wrote.
func countOwned(live *tenant.State, owner string) int {
	n := 0
	for _, a := range live.Actions {
		if who, _ := ownerOf(a, owner); who == ours {
			n++
		}
	}
	return n
}

func sortedByName(as []*tenant.Action) []*tenant.Action {
	out := slices.Clone(as)
	slices.SortFunc(out, func(a, b *tenant.Action) int { return strings.Compare(a.Name, b.Name) })
	return out
}
