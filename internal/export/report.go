package export

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/actionsync/actionsync/internal/tenant"
)

// codeFile is the name of every exported action's code file.
const codeFile = "index.js"

// From says what an exported action's files came from.
type From string

// What an action is exported from.
const (
	FromDeployed    From = "deployed"    // its deployed version: what runs
	FromDraft       From = "draft"       // never deployed: its draft
	FromIntegration From = "integration" // a Marketplace integration: not exported, bound by name
)

// Report is what an export wrote, in the JSON schema of the README.
type Report struct {
	Dir     string   `json:"dir"`
	Actions []Action `json:"actions"`
	// Modules are the Action Modules exported under modules/.
	Modules []Module `json:"modules"`
	// Triggers are the triggers triggers.yaml manages.
	Triggers []string `json:"triggers"`
	// Env names the environment variables the secrets' placeholders read,
	// to set before syncing.
	Env []string `json:"env"`
	// Problems are what the loader finds wrong with the export, each with
	// its file and line: to fix before syncing. Empty when it loads.
	Problems []string `json:"problems"`
}

// Action is one exported action.
type Action struct {
	Action  string   `json:"action"`
	Dir     string   `json:"dir,omitempty"` // "" for an integration
	From    From     `json:"from"`
	Version int      `json:"version,omitempty"` // the deployed version exported
	Secrets []secret `json:"secrets,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

func (r *Report) add(a Action) {
	r.Actions = append(r.Actions, a)
	for _, s := range a.Secrets {
		r.Env = append(r.Env, s.FromEnv)
	}
}

// Text writes the report for a terminal; names are quoted where they hold
// anything but plain characters.
func (r *Report) Text(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Exported %d actions", len(r.Actions))
	if len(r.Modules) > 0 {
		fmt.Fprintf(&b, " and %d modules", len(r.Modules))
	}
	fmt.Fprintf(&b, " to %s.\n", quote(r.Dir))
	for _, a := range r.Actions {
		where := a.Dir
		switch a.From {
		case FromDeployed:
			where += fmt.Sprintf(" (version %d)", a.Version)
		case FromDraft:
			where += " (draft)"
		case FromIntegration:
			where = "(integration)"
		}
		fmt.Fprintf(&b, "  %s: %s\n", quote(a.Action), where)
		for _, n := range a.Notes {
			b.WriteString("      " + n + "\n")
		}
	}
	for _, m := range r.Modules {
		where := m.Dir + " (draft)"
		if m.From == FromPublished {
			where = fmt.Sprintf("%s (version %d)", m.Dir, m.Version)
		}
		fmt.Fprintf(&b, "  module %s: %s\n", quote(m.Module), where)
		for _, n := range m.Notes {
			b.WriteString("      " + n + "\n")
		}
	}
	fmt.Fprintf(&b, "triggers.yaml manages: %s\n", orNone(r.Triggers))
	if len(r.Env) > 0 {
		fmt.Fprintf(&b, "Set these before syncing (the tenant never returns secret values): %s\n", strings.Join(r.Env, ", "))
	}
	if len(r.Problems) > 0 {
		b.WriteString("The export does not load yet; fix these before syncing:\n")
		for _, p := range r.Problems {
			b.WriteString("  " + p + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}

// quote shows s as it is when it is plain printable text without spaces,
// quoted (strconv.Quote) otherwise.
func quote(s string) string {
	if s != "" && strconv.Quote(s) == `"`+s+`"` && !strings.ContainsAny(s, " \"") {
		return s
	}
	return strconv.Quote(s)
}

// The files of an exported action, as action.yaml spells them.
type actionFile struct {
	Name         string       `yaml:"name,omitempty"`
	Runtime      string       `yaml:"runtime"`
	Trigger      triggerFile  `yaml:"trigger"`
	Code         string       `yaml:"code"`
	Dependencies []dependency `yaml:"dependencies,omitempty"`
	Secrets      []secret     `yaml:"secrets,omitempty"`
	Modules      []string     `yaml:"modules,omitempty"`
}

type triggerFile struct {
	ID      string `yaml:"id"`
	Version string `yaml:"version,omitempty"`
}

func triggerRef(t tenant.TriggerRef) triggerFile { return triggerFile(t) }

type dependency struct {
	Name    string `yaml:"name"`
	Version string `yaml:"version"`
}

type secret struct {
	Name    string `yaml:"name" json:"name"`
	FromEnv string `yaml:"from_env" json:"from_env"`
}

type namedBinding struct {
	Name        string `yaml:"name"`
	DisplayName string `yaml:"display_name"`
}
