// Package tenant is the model of an Auth0 tenant's Actions as actionsync
// reads them: actions with their draft and versions, Action Modules with
// their published versions, trigger bindings, and the trigger catalogue, with the vocabulary the Management API defines
// (build statuses, the fields of an action) as typed constants.
//
// internal/live fills a State; the planner, the exporter and the status
// report read it. Nothing here talks to a tenant.
package tenant

import (
	"maps"
	"slices"
	"strings"
)

// BuildStatus is where the build of a draft or a version stands, as the API
// spells it.
type BuildStatus string

// The build statuses of the Management API.
const (
	StatusPending  BuildStatus = "pending"
	StatusBuilding BuildStatus = "building"
	StatusBuilt    BuildStatus = "built"
	StatusFailed   BuildStatus = "failed"
)

// Field names a part of an action that a plan can change.
type Field string

// The fields of an action a plan compares, in the order a plan lists them.
const (
	FieldCode         Field = "code"
	FieldDependencies Field = "dependencies"
	FieldRuntime      Field = "runtime"
	FieldTrigger      Field = "trigger"
	FieldSecrets      Field = "secrets"
	FieldOwner        Field = "owner" // the stamp line: who wrote the action
	// FieldModules is the Action Modules an action pins: which modules, and
	// which published version of each.
	FieldModules Field = "modules"
)

// JoinFields lists fields for a sentence: "code, dependencies".
func JoinFields(fs []Field) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = string(f)
	}
	return strings.Join(parts, ", ")
}

// TriggerRef names a trigger and its version ("" in a repo means the
// tenant's current version of that trigger).
type TriggerRef struct {
	ID      string
	Version string
}

// String shows a trigger reference as id@version.
func (t TriggerRef) String() string { return t.ID + "@" + t.Version }

// Dependency is an npm package at a version.
type Dependency struct {
	Name    string
	Version string
}

// SortDependencies sorts ds by name, the order the planner compares them in.
func SortDependencies(ds []Dependency) {
	slices.SortFunc(ds, func(a, b Dependency) int { return strings.Compare(a.Name, b.Name) })
}

// Trigger is one entry of the tenant's trigger catalogue.
type Trigger struct {
	ID      string
	Version string
	// Current marks the version Auth0 offers for new actions.
	Current bool
	// Runtimes the trigger version accepts; nil when the catalogue does not
	// say.
	Runtimes []string
}

// State is the tenant as read. A State is complete or it is not used: a
// failed or partial read is an error before planning, never a smaller State.
type State struct {
	Catalogue []Trigger
	Actions   []*Action
	// Bindings holds the ordered bindings of each trigger that was read.
	Bindings map[string][]Binding
	// Modules are the tenant's Action Modules; nil when they were not read
	// (a plan that needs none: see internal/diff.NeedModules).
	Modules []*Module
}

// Action is an action of the tenant: its draft, and its deployed version.
type Action struct {
	ID      string
	Name    string
	Trigger TriggerRef
	// Code is the draft's code as the tenant keeps it, with actionsync's
	// stamp line if it wrote one (internal/stamp).
	Code         string
	Runtime      string
	Dependencies []Dependency // sorted by name, without registry_url
	Secrets      []string     // names; values are never readable
	Status       BuildStatus  // of the draft
	Deployed     *Version     // nil when never deployed
	// Integration marks a Marketplace integration: never deleted.
	Integration bool
	// BuildErrors are the messages of the draft's failed build.
	BuildErrors []string
	// Versions are loaded only where a plan needs them (a rollback
	// candidate); nil when not loaded.
	Versions []Version
	// Modules are the module versions the draft pins, in the order the
	// tenant lists them.
	Modules []ModuleRef
}

// Version is an immutable version of an action.
type Version struct {
	ID           string
	Number       int
	Code         string
	Runtime      string
	Dependencies []Dependency
	// Modules are the module versions the version was built with.
	Modules []ModuleRef
}

// ModuleRef is an action's pin of one published version of an Action
// Module, as the API answers it (ActionModuleReference).
type ModuleRef struct {
	ModuleID  string
	Module    string // the module's name
	VersionID string
	Version   int // the version's number
}

// Module is an Action Module of the tenant: shared code that actions
// require as actions:<name>, with its own dependencies and secrets. Its
// draft is what the listing shows; actions pin its published versions.
type Module struct {
	ID   string
	Name string
	// Code is the draft's code, with actionsync's stamp line if it wrote
	// one (internal/stamp).
	Code         string
	Dependencies []Dependency // sorted by name
	Secrets      []string     // names; values are never readable
	// Published is all_changes_published: the latest version holds the
	// draft.
	Published bool
	// Latest is the number of the newest published version; 0 when none.
	Latest int
	// Versions are loaded only where a plan needs them (a draft that
	// differs from the commit, a pin of a version other than the latest);
	// nil when not loaded. Newest first.
	Versions []ModuleVersion
}

// ModuleVersion is an immutable, published version of an Action Module.
type ModuleVersion struct {
	ID           string
	Number       int
	Code         string
	Dependencies []Dependency
	Secrets      []string
}

// Version returns the loaded version numbered n, or nil.
func (m *Module) Version(n int) *ModuleVersion {
	for i := range m.Versions {
		if m.Versions[i].Number == n {
			return &m.Versions[i]
		}
	}
	return nil
}

// Module returns the live module called name, or nil.
func (s *State) Module(name string) *Module {
	for _, m := range s.Modules {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Binding is one binding of a trigger, in order.
type Binding struct {
	Action      string // the action's name
	DisplayName string
}

// Action returns the live action called name, or nil.
func (s *State) Action(name string) *Action {
	for _, a := range s.Actions {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// ByName indexes the actions by name.
func (s *State) ByName() map[string]*Action {
	m := make(map[string]*Action, len(s.Actions))
	for _, a := range s.Actions {
		m[a.Name] = a
	}
	return m
}

// WithBindings is a copy of s in which trigger's bindings are bs (as read
// again, later); the actions are shared.
func (s *State) WithBindings(trigger string, bs []Binding) *State {
	out := *s
	out.Bindings = maps.Clone(s.Bindings)
	out.Bindings[trigger] = bs
	return &out
}

// TriggerOf maps each action's name to its trigger id.
func (s *State) TriggerOf() map[string]string {
	out := make(map[string]string, len(s.Actions))
	for _, a := range s.Actions {
		out[a.Name] = a.Trigger.ID
	}
	return out
}
