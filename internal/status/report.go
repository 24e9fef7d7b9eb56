package status

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/tenant"
)

// State is where an action of the repo stands in the tenant.
type State string

// The states of an action.
const (
	InSync       State = "in_sync"       // the deployed version equals the commit, and no other draft waits
	Differs      State = "differs"       // the deployed version differs from the commit
	DraftPending State = "draft_pending" // the deployed version equals the commit; a draft unlike it waits (or failed to build)
	NotDeployed  State = "not_deployed"  // in the tenant, never deployed
	Missing      State = "missing"       // not in the tenant
)

// Report is how a tenant compares with a commit (schema: docs/STATUS.md).
type Report struct {
	FormatVersion int    `json:"format_version"`
	Revision      string `json:"revision"`
	Owner         string `json:"owner"`
	// InSync is true when every action is in sync and every managed
	// trigger's bindings match.
	InSync   bool      `json:"in_sync"`
	Actions  []Action  `json:"actions"`
	Modules  []Module  `json:"modules"`
	Triggers []Trigger `json:"triggers"`
}

// Action is one action of the repo, as the tenant has it.
type Action struct {
	Action  string `json:"action"`
	Trigger string `json:"trigger"`
	State   State  `json:"state"`
	// Owner is the owner the tenant's stamp names; "" for an action made
	// outside actionsync.
	Owner string `json:"owner"`
	// Version is the deployed version's number; 0 when none.
	Version int `json:"deployed_version,omitempty"`
	// Differs names what the deployed version has other than the commit.
	Differs []tenant.Field `json:"differs,omitempty"`
	// MatchesCommit is the newest earlier commit (of the Depth looked
	// through) that holds the deployed version, when it differs.
	MatchesCommit string `json:"matches_commit,omitempty"`
	// StampCommit is the commit the deployed version's stamp names: a hint.
	StampCommit string `json:"stamp_commit,omitempty"`
	// DraftStatus is the draft's build status; DraftDiffers what the draft
	// has other than the deployed version.
	DraftStatus  tenant.BuildStatus `json:"draft_status,omitempty"`
	DraftDiffers []tenant.Field     `json:"draft_differs,omitempty"`
}

// Trigger is one managed trigger: the order the commit wants (the
// bindings the repo does not manage kept in place), and the live one.
type Trigger struct {
	Trigger  string         `json:"trigger"`
	Matches  bool           `json:"matches"`
	Bindings []diff.Binding `json:"bindings"`
	Live     []diff.Binding `json:"live"`
}

// count is the number of actions, modules and triggers that differ.
func (r *Report) count() int {
	actions, modules, triggers := r.differing()
	return actions + modules + triggers
}

func (r *Report) differing() (actions, modules, triggers int) {
	for _, a := range r.Actions {
		if a.State != InSync {
			actions++
		}
	}
	for _, m := range r.Modules {
		if m.State != InSync {
			modules++
		}
	}
	for _, t := range r.Triggers {
		if !t.Matches {
			triggers++
		}
	}
	return actions, modules, triggers
}

// Text writes the report for a terminal, names quoted.
func (r *Report) Text(w io.Writer) error {
	var b strings.Builder
	actions, modules, triggers := r.differing()
	fmt.Fprintf(&b, "Commit %s, owner %s: ", strconv.Quote(r.Revision), strconv.Quote(r.Owner))
	switch {
	case r.InSync:
		b.WriteString("the tenant matches the commit.\n")
	case len(r.Modules) > 0:
		fmt.Fprintf(&b, "%d of %d actions, %d of %d modules and %d of %d triggers differ.\n",
			actions, len(r.Actions), modules, len(r.Modules), triggers, len(r.Triggers))
	default:
		fmt.Fprintf(&b, "%d of %d actions and %d of %d triggers differ.\n", actions, len(r.Actions), triggers, len(r.Triggers))
	}
	for _, a := range r.Actions {
		b.WriteString(a.text())
	}
	for _, m := range r.Modules {
		b.WriteString(m.text())
	}
	for _, t := range r.Triggers {
		b.WriteString(t.text())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (a Action) text() string {
	line := "action " + strconv.Quote(a.Action) + ": "
	switch a.State {
	case Missing:
		return line + "not in the tenant\n"
	case NotDeployed:
		return line + "in the tenant, never deployed" + a.ownerText() + "\n"
	case InSync:
		line += fmt.Sprintf("version %d matches the commit", a.Version)
	case DraftPending:
		line += fmt.Sprintf("version %d matches the commit", a.Version)
	case Differs:
		line += fmt.Sprintf("version %d differs from the commit (%s)", a.Version, tenant.JoinFields(a.Differs))
		if a.MatchesCommit != "" {
			line += "; it is commit " + a.MatchesCommit
		} else {
			line += "; no earlier commit looked through holds it"
		}
	}
	line += a.ownerText()
	if a.StampCommit != "" {
		line += ", stamped from " + strconv.Quote(a.StampCommit)
	}
	line += "\n"
	if len(a.DraftDiffers) > 0 || a.DraftStatus == tenant.StatusFailed {
		line += fmt.Sprintf("    a draft waits (%s), build %s\n", tenant.JoinFields(a.DraftDiffers), a.DraftStatus)
	}
	return line
}

func (a Action) ownerText() string { return ownerText(a.Owner) }

func ownerText(owner string) string {
	if owner == "" {
		return " (made outside actionsync: no owner)"
	}
	return " (owner " + strconv.Quote(owner) + ")"
}

func (t Trigger) text() string {
	line := "trigger " + strconv.Quote(t.Trigger) + ": "
	if t.Matches {
		return line + "bindings match\n"
	}
	return line + "bindings differ: want " + names(t.Bindings) + ", live " + names(t.Live) + "\n"
}

func names(bs []diff.Binding) string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = strconv.Quote(b.Action)
	}
	return "[" + strings.Join(out, ", ") + "]"
}
