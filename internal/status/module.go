package status

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
)

// Module is one Action Module of the repo, as the tenant runs it: the
// published versions the repo's actions pin in their deployed versions,
// and whether each holds what the commit holds.
type Module struct {
	Module string `json:"module"`
	// State is in_sync (every version run holds the commit's; with no
	// action running it, the latest does), differs, not_deployed (never
	// published) or missing.
	State State `json:"state"`
	// Owner is the owner the module's stamp names; "" for a module made
	// outside actionsync.
	Owner string `json:"owner"`
	// Latest is the newest published version's number; 0 when none.
	Latest int `json:"latest_version,omitempty"`
	// Live are the versions the repo's actions run, each with those
	// actions and what it has other than the commit.
	Live []LiveVersion `json:"live,omitempty"`
}

// LiveVersion is one published version of a module that actions run.
type LiveVersion struct {
	Version int            `json:"version"`
	Actions []string       `json:"actions"`
	Differs []tenant.Field `json:"differs,omitempty"`
}

// compareModule says which versions of m the repo's actions run and
// whether they hold what the commit holds (secrets by name).
func compareModule(m *manifest.Module, desired *manifest.Repo, st *tenant.State, owner string) Module {
	out := Module{Module: m.Name, State: Missing}
	l := st.Module(m.Name)
	if l == nil {
		return out
	}
	if s, ok := stamp.OfModule(l); ok {
		out.Owner = s.Owner
	}
	if out.Latest = l.Latest; l.Latest == 0 {
		out.State = NotDeployed
		return out
	}
	out.Live = liveVersions(m.Name, desired, st)
	if len(out.Live) == 0 {
		out.Live = []LiveVersion{{Version: l.Latest, Actions: []string{}}}
	}
	out.State = InSync
	for i := range out.Live {
		lv := &out.Live[i]
		if v := l.Version(lv.Version); v != nil {
			lv.Differs = diff.ModuleVersionFields(m, owner, v)
		} else {
			lv.Differs = []tenant.Field{tenant.FieldCode}
		}
		if len(lv.Differs) > 0 {
			out.State = Differs
		}
	}
	return out
}

// liveVersions are the versions of module name that the repo's actions'
// deployed versions pin, by number.
func liveVersions(name string, desired *manifest.Repo, st *tenant.State) []LiveVersion {
	var out []LiveVersion
	for _, a := range desired.Actions {
		l := st.Action(a.Name)
		if l == nil || l.Deployed == nil {
			continue
		}
		for _, p := range l.Deployed.Modules {
			if p.Module != name {
				continue
			}
			i := slices.IndexFunc(out, func(v LiveVersion) bool { return v.Version == p.Version })
			if i < 0 {
				out, i = append(out, LiveVersion{Version: p.Version}), len(out)
			}
			out[i].Actions = append(out[i].Actions, a.Name)
		}
	}
	slices.SortFunc(out, func(a, b LiveVersion) int { return a.Version - b.Version })
	return out
}

func (m Module) text() string {
	line := "module " + strconv.Quote(m.Module) + ": "
	switch m.State {
	case Missing:
		return line + "not in the tenant\n"
	case NotDeployed:
		return line + "in the tenant, never published" + ownerText(m.Owner) + "\n"
	}
	var parts []string
	for _, v := range m.Live {
		part := fmt.Sprintf("version %d", v.Version)
		if len(v.Actions) > 0 {
			part += " (run by " + strings.Join(v.Actions, ", ") + ")"
		}
		if len(v.Differs) > 0 {
			part += " differs from the commit (" + tenant.JoinFields(v.Differs) + ")"
		} else {
			part += " matches the commit"
		}
		parts = append(parts, part)
	}
	return line + strings.Join(parts, "; ") + fmt.Sprintf("; latest version %d", m.Latest) + ownerText(m.Owner) + "\n"
}
