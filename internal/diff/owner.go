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

// KeptVersions is how many versions Auth0 keeps of an action; it drops the
// oldest past that.
const KeptVersions = 50

// ownership is who wrote a live action, as a repo of one owner sees it.
type ownership int

const (
	ours        ownership = iota // stamped by this owner
	unstamped                    // made outside actionsync: in the dashboard, by another tool
	foreign                      // stamped by another owner
	integration                  // a Marketplace integration
)

// ownerOf says who wrote l, and the other owner's name when foreign.
func ownerOf(l *tenant.Action, owner string) (ownership, string) {
	if l.Integration {
		return integration, ""
	}
	st, ok := stamp.Of(l)
	return whose(st, ok, owner)
}

// whose says who wrote what carries stamp st (none when !ok), as a repo of
// owner sees it.
func whose(st stamp.Stamp, ok bool, owner string) (ownership, string) {
	switch {
	case !ok:
		return unstamped, ""
	case st.Owner != owner:
		return foreign, st.Owner
	}
	return ours, owner
}

// ErrForeign is wrapped by the error of a plan that would take over an
// action another owner wrote.
var ErrForeign = errors.New("written by another owner")

// ForeignError names an action of the repo that another owner wrote. Two
// repos that both hold it would overwrite each other on every sync, so it
// is refused unless Options.AdoptForeign says to take it over.
type ForeignError struct {
	Action string // the action's name, or the module's
	Owner  string // who wrote it
	Want   string // this repo's owner
	// Module marks an Action Module of the repo, not an action.
	Module bool
}

func (e *ForeignError) Error() string {
	what := "action"
	if e.Module {
		what = "module"
	}
	return fmt.Sprintf("%s %s was written by owner %s, and this repo is owner %s: two repos would overwrite each other; drop it from one of them, or pass --adopt-foreign to take it over",
		what, e.Action, e.Owner, e.Want)
}

// Unwrap makes errors.Is(err, ErrForeign) hold.
func (e *ForeignError) Unwrap() error { return ErrForeign }

// adopt is the step that makes an action written elsewhere this owner's:
// one update, with every field that differs from the draft (the stamp at
// least, and the secrets, set from their sources so that the fingerprints
// say what the tenant holds), then a deploy.
func adopt(s Step, a *manifest.Action, l *tenant.Action, want content, from string, ms moduleSet) Step {
	draft := draftContent(l, ms)
	s.Kind, s.Fields = Adopt, want.differences(draft)
	if slices.Contains(s.Fields, tenant.FieldSecrets) {
		s.Secrets = changedSecrets(want, a.Secrets, draft, l.Secrets)
	}
	s.CodeDiff = Unified("tenant/"+a.Name, a.CodePath, draft.Body, want.Body)
	s.Reason = adoptReason(want, draft, l, from, ms)
	return s
}

// adoptReason says who wrote the action and what adopting it changes of
// what runs: nothing, when the commit holds the deployed version; draft is
// l's draft's content.
func adoptReason(want, draft content, l *tenant.Action, from string, ms moduleSet) string {
	who := "made outside actionsync (no stamp)"
	if from != "" {
		who = "written by owner " + from
	}
	parts := []string{who + ": adopt it, one update and deploy that add this owner's stamp"}
	if l.Deployed == nil {
		return strings.Join(append(parts, "it was never deployed"), "; ")
	}
	deployed := versionContent(l.Deployed, l.Trigger, ms).build()
	if f := want.build().differences(deployed); len(f) > 0 {
		parts = append(parts, "the commit also changes its "+tenant.JoinFields(f))
	}
	if !draft.build().equal(deployed) {
		parts = append(parts, "its pending draft is replaced")
	}
	return strings.Join(parts, "; ")
}

// goneVersions says, for an update of an action whose versions were read,
// that no rollback was possible because the oldest versions are gone.
func goneVersions(l *tenant.Action) string {
	oldest := 0
	for _, v := range l.Versions {
		if oldest == 0 || v.Number < oldest {
			oldest = v.Number
		}
	}
	if oldest <= 1 {
		return ""
	}
	return fmt.Sprintf("; no kept version equals the commit, and versions 1 to %d are gone (Auth0 keeps the newest %d), so it is built anew",
		oldest-1, KeptVersions)
}

// DesiredBindings is the order a managed trigger should have: the list in
// triggers.yaml, with the bindings the repo does not manage (hand-made
// actions, other owners' actions, Marketplace integrations it does not
// name) kept where they are, each after as many managed bindings as it
// follows in the live order. Two repos sharing a trigger so each keep
// the other's bindings in place, and neither rewrites the list after the
// other.
func DesiredBindings(t *manifest.Trigger, desired *manifest.Repo, live *tenant.State, owner string) []Binding {
	listed := map[string]bool{}
	for _, b := range t.Bindings {
		listed[b.Action] = true
	}
	byName := live.ByName()
	kept := map[int][]Binding{} // by the number of managed bindings before them
	managed := 0
	for _, b := range live.Bindings[t.ID] {
		if listed[b.Action] || desired.Action(b.Action) != nil || isOurs(byName[b.Action], owner) {
			managed++
			continue
		}
		kept[managed] = append(kept[managed], Binding(b))
	}
	out := []Binding{}
	for i, b := range t.Bindings {
		out = append(out, kept[i]...)
		out = append(out, Binding{Action: b.Action, DisplayName: b.DisplayName})
	}
	for i := len(t.Bindings); i <= managed; i++ {
		out = append(out, kept[i]...)
	}
	return out
}

func isOurs(l *tenant.Action, owner string) bool {
	if l == nil {
		return false
	}
	who, _ := ownerOf(l, owner)
	return who == ours
}

// OthersNamed is the error of every binding of desired's triggers.yaml
// that names an action the repo may not order (see othersNamed), or nil:
// what Compute refuses, for a caller that does not plan (status).
func OthersNamed(desired *manifest.Repo, live *tenant.State, owner string) error {
	byName := live.ByName()
	var errs []error
	for _, t := range desired.Triggers {
		errs = append(errs, othersNamed(t, desired, byName, owner)...)
	}
	return errors.Join(errs...)
}

// othersNamed refuses the bindings of t that name an action the repo does
// not hold and may not order: another owner's (which that owner's repo
// orders: two repos naming it would move it after each other on every
// sync) or a hand-made one (which a repo orders once it holds it). A repo
// orders its own actions and the Marketplace integrations it names; the
// others keep their places without being named (DesiredBindings).
func othersNamed(t *manifest.Trigger, desired *manifest.Repo, byName map[string]*tenant.Action, owner string) []error {
	var errs []error
	for _, b := range t.Bindings {
		l := byName[b.Action]
		if desired.Action(b.Action) != nil || l == nil {
			continue // the repo's, or checked by Validate
		}
		var err error
		switch who, from := ownerOf(l, owner); who {
		case foreign:
			err = foreignBinding(fmt.Sprintf("%s: action %s is written by owner %s, and this repo is owner %s: a repo orders only its own actions and the Marketplace integrations it names; drop it from %s (it keeps its place), and order it in owner %s's repo",
				t.ID, b.Action, from, owner, manifest.TriggersFile, from))
		case unstamped:
			err = fmt.Errorf("%s: action %s was made outside actionsync (no stamp), and the repo does not hold it: a repo orders only its own actions and the Marketplace integrations it names; add it to the repo to adopt it, or drop it from %s (it keeps its place)",
				t.ID, b.Action, manifest.TriggersFile)
		default:
			continue
		}
		errs = append(errs, &manifest.Error{Path: manifest.TriggersFile, Line: b.Line, Err: err})
	}
	return errs
}

// foreignBinding is the error of a binding to another owner's action.
type foreignBinding string

func (e foreignBinding) Error() string { return string(e) }

// Unwrap makes errors.Is(err, ErrForeign) hold.
func (e foreignBinding) Unwrap() error { return ErrForeign }
