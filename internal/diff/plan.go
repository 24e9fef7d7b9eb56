// Package diff computes a Plan from the desired state (a manifest.Repo) and
// the live state of a tenant (a tenant.State), as a pure, deterministic
// function, and renders plans as text, Markdown and JSON.
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
	Update   Kind = "update"   // PATCH the changed fields, then deploy
	Rollback Kind = "rollback" // deploy an earlier version, draft updated too: no build
	Deploy   Kind = "deploy"   // the draft matches the commit but is not deployed
	Bind     Kind = "bind"     // one PATCH of a trigger's whole binding list
	Delete   Kind = "delete"   // --prune: unbound first, then DELETE
)

// Plan is what it takes to make the tenant match the commit.
type Plan struct {
	FormatVersion int         `json:"format_version"`
	Steps         []Step      `json:"steps"`
	Unmanaged     []Unmanaged `json:"unmanaged"`
}

// Step is one change, with why it is needed.
type Step struct {
	Kind     Kind   `json:"kind"`
	Action   string `json:"action,omitempty"`
	ActionID string `json:"action_id,omitempty"` // "" for create
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
}

// VersionRef names a version of an action.
type VersionRef struct {
	ID     string `json:"id"`
	Number int    `json:"number"`
}

// Binding is one entry of a trigger's order.
type Binding struct {
	Action      string `json:"action"`
	DisplayName string `json:"display_name"`
}

// Unmanaged is a tenant action the repo does not hold, left alone, and why.
type Unmanaged struct {
	Action string `json:"action"`
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
}

// ErrDeletesAll refuses a plan that would leave the tenant with no action.
var ErrDeletesAll = errors.New("the plan deletes every action of the tenant; refusing without --allow-empty")

// Compute plans the steps that make live match desired. It is a pure
// function of its inputs: the same inputs give the same plan.
func Compute(desired *manifest.Repo, live *tenant.State, opts Options) (*Plan, error) {
	p := &Plan{FormatVersion: FormatVersion, Steps: []Step{}, Unmanaged: []Unmanaged{}}
	byName := live.ByName()
	for _, a := range desired.Actions {
		if s, ok := planAction(a, byName[a.Name], opts.owner(), opts.SecretKey); ok {
			p.Steps = append(p.Steps, s)
		}
	}
	for _, t := range desired.Triggers {
		if s, ok := PlanTrigger(t, live.Bindings[t.ID]); ok {
			p.Steps = append(p.Steps, s)
		}
	}
	deletes := planPrune(desired, live, opts.Prune, p)
	if deletes > 0 && deletes == countDeletable(live) && !opts.AllowEmpty {
		return nil, ErrDeletesAll
	}
	return p, nil
}

func (o Options) owner() string {
	if o.Owner == "" {
		return stamp.DefaultOwner
	}
	return o.Owner
}

func planAction(a *manifest.Action, l *tenant.Action, owner string, key []byte) (Step, bool) {
	want := desiredContent(a, owner, key)
	if l == nil {
		return Step{Kind: Create, Action: a.Name, Trigger: a.Trigger.ID, Reason: "not in the tenant",
			CodeDiff: Unified("/dev/null", a.CodePath, "", want.Body), Secrets: secretNames(a)}, true
	}
	s := Step{Action: a.Name, ActionID: l.ID, Trigger: a.Trigger.ID}
	if fields := want.differences(draftContent(l)); len(fields) > 0 {
		s.Fields = fields
		if slices.Contains(fields, tenant.FieldSecrets) {
			s.Secrets = changedSecrets(want, a, l)
		}
		s.CodeDiff = Unified("tenant/"+a.Name, a.CodePath, stamp.Body(l.Code), want.Body)
		if v := rollbackTarget(want, l); v != nil {
			s.Kind, s.Version = Rollback, &VersionRef{ID: v.ID, Number: v.Number}
			s.Reason = fmt.Sprintf("the commit equals version %d", v.Number)
			return s, true
		}
		s.Kind, s.Reason = Update, "the draft differs: "+joinFields(fields)
		return s, true
	}
	if l.Status == tenant.StatusFailed {
		// The same content failed to build (a registry outage, say): only a
		// new build can help, and only a write makes one.
		s.Kind, s.Fields, s.Reason = Update, []tenant.Field{tenant.FieldCode}, "the draft's last build failed: rebuild it"
		return s, true
	}
	if l.Deployed == nil || !versionContent(l.Deployed, l.Trigger).equal(want) {
		s.Kind, s.Reason = Deploy, "the draft matches the commit but is not deployed"
		return s, true
	}
	return Step{}, false
}

func joinFields(fs []tenant.Field) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = string(f)
	}
	return strings.Join(parts, ", ")
}

func secretNames(a *manifest.Action) []string {
	var out []string
	for _, s := range a.Secrets {
		out = append(out, s.Name)
	}
	return out
}

// rollbackTarget is the newest version of l that equals want, if versions
// were loaded.
func rollbackTarget(want content, l *tenant.Action) *tenant.Version {
	var best *tenant.Version
	for i, v := range l.Versions {
		if versionContent(&v, l.Trigger).equal(want) && (best == nil || v.Number > best.Number) {
			best = &l.Versions[i]
		}
	}
	return best
}

// PlanTrigger plans one trigger's bindings from its live ones: a bind step
// when they differ from the commit's order. The engine calls it again with
// the bindings read just before it writes them, so that what another
// writer did meanwhile is seen.
func PlanTrigger(t *manifest.Trigger, live []tenant.Binding) (Step, bool) {
	want := make([]Binding, len(t.Bindings))
	for i, b := range t.Bindings {
		want[i] = Binding{Action: b.Action, DisplayName: b.DisplayName}
	}
	have := make([]Binding, len(live))
	for i, b := range live {
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
// prune when it is safe, unmanaged otherwise. It returns the deletes.
func planPrune(desired *manifest.Repo, live *tenant.State, prune bool, p *Plan) int {
	deletes := 0
	for _, l := range sortedByName(live.Actions) {
		if desired.Action(l.Name) != nil {
			continue
		}
		reason := keepReason(desired, live, l, prune)
		if reason != "" {
			p.Unmanaged = append(p.Unmanaged, Unmanaged{Action: l.Name, Reason: reason})
			continue
		}
		p.Steps = append(p.Steps, Step{Kind: Delete, Action: l.Name, ActionID: l.ID, Trigger: l.Trigger.ID, Reason: "not in the repo (--prune)"})
		deletes++
	}
	return deletes
}

func keepReason(desired *manifest.Repo, live *tenant.State, l *tenant.Action, prune bool) string {
	switch {
	case l.Integration:
		return "a Marketplace integration: never deleted"
	case boundInRepo(desired, l.Name):
		return "not in the repo, but triggers.yaml binds it"
	case !prune:
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

func countDeletable(live *tenant.State) int {
	n := 0
	for _, a := range live.Actions {
		if !a.Integration {
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
