// Package diff computes a Plan from the desired state (a manifest.Repo) and
// the live state of a tenant, as a pure, deterministic function, and renders
// plans as text, Markdown and JSON.
package diff

import "github.com/actionsync/actionsync/internal/manifest"

// Live is the tenant as read: every action, and the bindings of the triggers
// read. A Live value is complete or it is not used: a failed or partial read
// is an error before planning, never an empty Live.
type Live struct {
	Actions []*LiveAction
	// Bindings holds the ordered bindings of each trigger that was read:
	// every managed trigger, and, for --prune, the trigger of each action the
	// repo does not hold.
	Bindings map[string][]LiveBinding
}

// LiveAction is an action of the tenant, with its draft and deployed version.
type LiveAction struct {
	ID           string
	Name         string
	Trigger      manifest.TriggerRef
	Code         string
	Runtime      string
	Dependencies []manifest.Dependency // normalised: sorted, no registry_url
	Secrets      []string              // names; values are never readable
	Status       string                // the draft's build status
	Deployed     *Version              // nil when never deployed
	Integration  bool                  // a Marketplace integration: never deleted
	// Versions are loaded only for actions where a rollback might apply
	// (RollbackCandidates); nil when not loaded.
	Versions []Version
}

// Version is an immutable version of an action.
type Version struct {
	ID           string
	Number       int
	Code         string
	Runtime      string
	Dependencies []manifest.Dependency
}

// LiveBinding is one binding of a trigger, in order.
type LiveBinding struct {
	Action      string // the action's name
	DisplayName string
}

// Action returns the live action called name, or nil.
func (l *Live) Action(name string) *LiveAction {
	for _, a := range l.Actions {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func (l *Live) byName() map[string]*LiveAction {
	m := make(map[string]*LiveAction, len(l.Actions))
	for _, a := range l.Actions {
		m[a.Name] = a
	}
	return m
}

func (a *LiveAction) content() content {
	return content{Code: a.Code, Runtime: a.Runtime, Deps: a.Dependencies, Trigger: a.Trigger}
}

func (v *Version) content(trigger manifest.TriggerRef) content {
	return content{Code: v.Code, Runtime: v.Runtime, Deps: v.Dependencies, Trigger: trigger}
}

// content is what a build is made of; two equal contents build the same.
type content struct {
	Code    string
	Runtime string
	Deps    []manifest.Dependency
	Trigger manifest.TriggerRef
}

func (c content) equal(o content) bool { return len(c.differences(o)) == 0 }

// differences names the fields of c that differ from o.
func (c content) differences(o content) []string {
	var f []string
	if stripTrailer(c.Code) != stripTrailer(o.Code) {
		f = append(f, "code")
	}
	if !sameDeps(c.Deps, o.Deps) {
		f = append(f, "dependencies")
	}
	if c.Runtime != o.Runtime {
		f = append(f, "runtime")
	}
	if c.Trigger != o.Trigger {
		f = append(f, "trigger")
	}
	if trailer(c.Code) != trailer(o.Code) {
		f = append(f, "secrets")
	}
	return f
}

func sameDeps(a, b []manifest.Dependency) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
