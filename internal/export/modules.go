package export

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
)

// FromPublished marks a module exported from its latest published version.
const FromPublished From = "published"

// Module is one exported Action Module.
type Module struct {
	Module  string   `json:"module"`
	Dir     string   `json:"dir"`
	From    From     `json:"from"`              // published, or draft when never published
	Version int      `json:"version,omitempty"` // the published version exported
	Secrets []secret `json:"secrets,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

// moduleFile is module.yaml as an export writes it.
type moduleFile struct {
	Name         string       `yaml:"name,omitempty"`
	Code         string       `yaml:"code"`
	Dependencies []dependency `yaml:"dependencies,omitempty"`
	Secrets      []secret     `yaml:"secrets,omitempty"`
}

// writeModules writes modules/<dir>/ for every module of st, and returns
// them with the directory each went to.
func writeModules(root *os.Root, st *tenant.State, rep *Report) error {
	dirs := uniqueDirs(moduleNames(st.Modules))
	for _, m := range sortedModules(st.Modules) {
		rm, err := writeModule(root, m, dirs[m.Name], usersOf(st, m))
		if err != nil {
			return fmt.Errorf("export module %s: %w", m.Name, err)
		}
		rep.Modules = append(rep.Modules, rm)
		for _, s := range rm.Secrets {
			rep.Env = append(rep.Env, s.FromEnv)
		}
	}
	return nil
}

// writeModule writes one module's directory: its latest published version
// (or its draft, never published), noting the actions that run another.
func writeModule(root *os.Root, m *tenant.Module, dir string, users map[string]int) (Module, error) {
	rm := Module{Module: m.Name, Dir: "modules/" + dir, From: FromDraft}
	code, deps, names := m.Code, m.Dependencies, m.Secrets
	if v := m.Version(m.Latest); v != nil {
		rm.From, rm.Version = FromPublished, v.Number
		code, deps, names = v.Code, v.Dependencies, v.Secrets
	} else {
		rm.Notes = append(rm.Notes, "never published: exported its draft")
	}
	for _, name := range slices.Sorted(maps.Keys(users)) {
		if users[name] != rm.Version {
			rm.Notes = append(rm.Notes, fmt.Sprintf("action %s runs version %d: a sync moves it to the version that holds the export", strconv.Quote(name), users[name]))
		}
	}
	file := moduleFile{Code: codeFile}
	if m.Name != dir {
		file.Name = m.Name
	}
	for _, d := range deps {
		file.Dependencies = append(file.Dependencies, dependency(d))
	}
	for _, name := range sorted(names) {
		s := secret{Name: name, FromEnv: EnvName("module-"+dir, name)}
		file.Secrets, rm.Secrets = append(file.Secrets, s), append(rm.Secrets, s)
	}
	if err := root.MkdirAll(rm.Dir, 0o755); err != nil {
		return rm, err
	}
	if err := root.WriteFile(rm.Dir+"/"+codeFile, []byte(stamp.Body(code)), 0o644); err != nil {
		return rm, err
	}
	return rm, writeYAML(root, rm.Dir+"/module.yaml", file)
}

// usersOf maps the actions whose deployed version pins m to the version
// each runs.
func usersOf(st *tenant.State, m *tenant.Module) map[string]int {
	out := map[string]int{}
	for _, a := range st.Actions {
		if a.Deployed == nil {
			continue
		}
		for _, p := range a.Deployed.Modules {
			if p.Module == m.Name {
				out[a.Name] = p.Version
			}
		}
	}
	return out
}

func moduleNames(ms []*tenant.Module) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

// pinnedModules are the modules an exported action version pins, by name,
// but for those the tenant does not hold (the loader would refuse them).
func pinnedModules(st *tenant.State, pins []tenant.ModuleRef, ra *Action) []string {
	var out []string
	for _, p := range pins {
		if st.Module(p.Module) == nil {
			ra.Notes = append(ra.Notes, fmt.Sprintf("pins module %s, which the tenant does not list: left out", strconv.Quote(p.Module)))
			continue
		}
		out = append(out, p.Module)
	}
	slices.Sort(out)
	return out
}

func sortedModules(ms []*tenant.Module) []*tenant.Module {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b *tenant.Module) int { return strings.Compare(a.Name, b.Name) })
	return out
}
