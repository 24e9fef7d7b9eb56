// Package manifest loads a repo of Auth0 Actions, a directory tree or a Git
// commit's tree, into the desired state, and validates all of it before
// anything else happens.
//
// The layout:
//
//	actions/<dir>/action.yaml   one action: trigger, runtime, code, dependencies, secrets
//	actions/<dir>/index.js      its code (the file action.yaml names)
//	modules/<dir>/module.yaml   one Action Module: code, dependencies, secrets
//	modules/<dir>/index.js      its code (the file module.yaml names)
//	triggers.yaml               the ordered bindings of each managed trigger
//	actionsync.yaml             optional: settings of the whole repo (owner, environments)
//
// Every problem is reported at once, each with its file and line. Secret
// values are read from their sources (environment or file) and never printed.
package manifest

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/actionsync/actionsync/internal/tenant"
)

// DefaultRuntime is the runtime of an action.yaml that names none.
const DefaultRuntime = "node22"

// Repo is the desired state a commit describes.
type Repo struct {
	// Actions are sorted by name.
	Actions []*Action
	// Triggers are the managed triggers in the order triggers.yaml lists them.
	Triggers []*Trigger
	// Modules are the Action Modules of modules/, sorted by name.
	Modules []*Module
	// Config is actionsync.yaml's; zero when the repo has none.
	Config Config
	// Excluded are the actions the environment loaded (Options.Environment)
	// leaves out: in neither Actions nor any trigger's bindings.
	Excluded []*Action
}

// Action is one action of the repo.
type Action struct {
	Name         string
	Dir          string            // the action's directory, relative to the repo root
	Trigger      tenant.TriggerRef // Version "" until Validate fills it in
	Runtime      string
	CodePath     string // relative to the repo root
	Code         string
	Dependencies []tenant.Dependency // exact versions, sorted by name
	Secrets      []Secret            // sorted by name
	// Modules names the modules of the repo the action uses, sorted: it
	// pins the version that holds what the commit holds.
	Modules []string

	pos         map[string]int // line of each key of action.yaml
	moduleLines map[string]int // line of each entry of modules:
}

// File is the path of the action's action.yaml, relative to the repo root.
func (a *Action) File() string { return a.Dir + "/action.yaml" }

// Line is the line of key (a dotted path such as "trigger.id") in
// action.yaml, or 1 when it is not there.
func (a *Action) Line(key string) int {
	if n, ok := a.pos[key]; ok {
		return n
	}
	return 1
}

// Secret is a secret's name and value; the value never leaves the process
// but for the tenant's secrets API, and String never shows it.
type Secret struct {
	Name     string
	FromEnv  string
	FromFile string
	// Literal says the value is written in actionsync.yaml (an
	// environment's setting that is not secret); it is still never shown.
	Literal bool
	Value   string
}

// String shows the secret's name and source, never its value.
func (s Secret) String() string {
	if s.Literal {
		return s.Name + " (a value in " + ConfigFile + ")"
	}
	if s.FromEnv != "" {
		return s.Name + " (from $" + s.FromEnv + ")"
	}
	return s.Name + " (from " + s.FromFile + ")"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return "manifest.Secret{" + s.String() + "}" }

// Trigger is a managed trigger and its bindings, first runs first.
type Trigger struct {
	ID       string
	Bindings []Binding
	Line     int // of the trigger's key in triggers.yaml
}

// Binding binds an action, by name, to a trigger.
type Binding struct {
	Action      string
	DisplayName string // defaults to the action's name
	Line        int
}

// Action returns the repo's action called name, or nil.
func (r *Repo) Action(name string) *Action {
	i := sort.Search(len(r.Actions), func(i int) bool { return r.Actions[i].Name >= name })
	if i < len(r.Actions) && r.Actions[i].Name == name {
		return r.Actions[i]
	}
	return nil
}

// Trigger returns the managed trigger id, or nil when the repo does not
// manage it.
func (r *Repo) Trigger(id string) *Trigger {
	for _, t := range r.Triggers {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// Error is one problem in the repo, at a file and line.
type Error struct {
	Path string
	Line int
	Err  error
}

// Error formats the problem as path:line: message, on one line, with
// whatever the repo put in it (a file name, a link's target) escaped.
func (e *Error) Error() string {
	if e.Line > 0 {
		return Escape(fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err))
	}
	return Escape(fmt.Sprintf("%s: %v", e.Path, e.Err))
}

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem found in a repo, sorted by file and line.
type Errors []*Error

// Error lists every problem, one a line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Path != es[j].Path {
			return es[i].Path < es[j].Path
		}
		return es[i].Line < es[j].Line
	})
	return es
}

// ErrEmpty is returned for a tree with neither actions/ nor triggers.yaml:
// an empty checkout is an error, never an empty desired state.
var ErrEmpty = errors.New("the repo holds neither actions/ nor triggers.yaml; refusing an empty desired state")

func errf(path string, line int, format string, args ...any) *Error {
	return &Error{Path: path, Line: line, Err: fmt.Errorf(format, args...)}
}
