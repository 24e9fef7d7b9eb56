// Package export writes a tenant's actions in the repo format, so that a
// team adopting actionsync starts from what its tenant runs: one directory
// per action with its deployed code (without actionsync's stamp line),
// runtime, trigger, dependencies, secrets (as from_env placeholders:
// values are never readable) and the modules it pins; one directory per
// Action Module with its latest published version; and triggers.yaml with
// every trigger's bindings in order, Marketplace integrations by name.
package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
	"gopkg.in/yaml.v3"
)

// Options shape an export.
type Options struct {
	// Owner, when set, is written to actionsync.yaml as the repo's owner.
	Owner string
	// Force writes into a directory that is not empty, replacing the files
	// it writes and leaving the others.
	Force bool
	// Environment, when set, is the environment of actionsync.yaml the
	// tenant is: the export writes it, with its secrets' overlay.
	Environment *manifest.Environment
}

// ErrNotEmpty is the error for a directory that holds files, without Force.
var ErrNotEmpty = errors.New("the directory is not empty; --force writes into it")

// CheckDir checks that dir is absent or empty, or that force is given.
func CheckDir(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("export to %s: %w", dir, err)
	case len(entries) > 0 && !force:
		return fmt.Errorf("export to %s: %w", dir, ErrNotEmpty)
	}
	return nil
}

// Read reads what an export needs of the tenant: every action, every
// module with its versions, and the bindings of every trigger of the
// catalogue.
func Read(ctx context.Context, api live.API) (*tenant.State, error) {
	r := live.NewReader(api)
	st, err := r.Read(ctx)
	if err == nil {
		err = r.ReadModules(ctx, st)
	}
	if err == nil {
		err = r.ReadModuleVersions(ctx, st, moduleNames(st.Modules))
	}
	if err != nil {
		return nil, fmt.Errorf("read the tenant: %w", err)
	}
	var ids []string
	for _, t := range st.Catalogue {
		if !slices.Contains(ids, t.ID) {
			ids = append(ids, t.ID)
		}
	}
	if err := r.ReadBindings(ctx, st, ids); err != nil {
		return nil, fmt.Errorf("read the tenant: %w", err)
	}
	return st, nil
}

// Write writes st in the repo format under dir (created when absent), and
// reports what it wrote and what a person should know: a draft ahead of
// its deployed version, an action never deployed, the environment
// variables the secrets' placeholders name.
func Write(dir string, st *tenant.State, opts Options) (*Report, error) {
	if err := CheckDir(dir, opts.Force); err != nil {
		return nil, err
	}
	if opts.Owner != "" {
		if err := manifest.ValidOwner(opts.Owner); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("export to %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("export to %s: %w", dir, err)
	}
	defer root.Close()
	rep := &Report{Dir: dir, Actions: []Action{}, Modules: []Module{}, Triggers: []string{}, Env: []string{}}
	if err := writeModules(root, st, rep); err != nil {
		return nil, err
	}
	dirs := dirNames(st.Actions)
	for _, a := range sortedByName(st.Actions) {
		ra, err := writeAction(root, st, a, dirs[a.Name])
		if err != nil {
			return nil, fmt.Errorf("export action %s: %w", a.Name, err)
		}
		rep.add(ra)
	}
	if rep.Triggers, err = writeTriggers(root, st.Bindings); err != nil {
		return nil, err
	}
	if cfg, ok := config(opts, rep); ok {
		if err := writeYAML(root, manifest.ConfigFile, cfg); err != nil {
			return nil, err
		}
	}
	env := ""
	if opts.Environment != nil {
		env = opts.Environment.Name
	}
	rep.Problems = check(root.FS(), env)
	return rep, nil
}

// check loads the export as a sync would, with placeholder secret values,
// and returns what the loader finds wrong: what a person must fix before
// syncing (a dependency the tenant accepted at a version that is not
// exact, say).
func check(fsys fs.FS, env string) []string {
	placeholder := func(string) string { return "placeholder" }
	_, err := manifest.Load(fsys, manifest.Options{Getenv: placeholder, Environment: env,
		ReadFile: func(string) ([]byte, error) { return []byte("placeholder"), nil }})
	var errs manifest.Errors
	switch {
	case err == nil:
		return []string{}
	case errors.As(err, &errs):
		out := make([]string, len(errs))
		for i, e := range errs {
			out[i] = e.Error()
		}
		return out
	}
	return []string{err.Error()}
}

// writeAction writes one action's directory, or nothing for a Marketplace
// integration, which the API cannot create: triggers.yaml binds it by name.
func writeAction(root *os.Root, st *tenant.State, a *tenant.Action, dir string) (Action, error) {
	ra := Action{Action: a.Name}
	if a.Integration {
		ra.From = FromIntegration
		ra.Notes = append(ra.Notes, "a Marketplace integration: bound by name in triggers.yaml, not exported")
		return ra, nil
	}
	ra.Dir = "actions/" + dir
	code, deps, pins := exported(a, &ra)
	file := actionFile{Runtime: a.Runtime, Trigger: triggerRef(a.Trigger), Code: codeFile, Modules: pinnedModules(st, pins, &ra)}
	if a.Name != dir {
		file.Name = a.Name
	}
	for _, d := range deps {
		file.Dependencies = append(file.Dependencies, dependency(d))
	}
	for _, name := range sorted(a.Secrets) {
		s := secret{Name: name, FromEnv: EnvName(dir, name)}
		file.Secrets = append(file.Secrets, s)
		ra.Secrets = append(ra.Secrets, s)
	}
	if err := root.MkdirAll(ra.Dir, 0o755); err != nil {
		return ra, err
	}
	if err := root.WriteFile(ra.Dir+"/"+codeFile, []byte(code), 0o644); err != nil {
		return ra, err
	}
	return ra, writeYAML(root, ra.Dir+"/action.yaml", file)
}

// exported chooses what to export of a: the deployed version, or the draft
// when none was deployed, and notes a draft that is ahead.
func exported(a *tenant.Action, ra *Action) (code string, deps []tenant.Dependency, pins []tenant.ModuleRef) {
	if a.Deployed == nil {
		ra.From = FromDraft
		ra.Notes = append(ra.Notes, "never deployed: exported its draft")
		return stamp.Body(a.Code), a.Dependencies, a.Modules
	}
	ra.From, ra.Version = FromDeployed, a.Deployed.Number
	if fields := diff.DraftFields(a); len(fields) > 0 {
		ra.Notes = append(ra.Notes, fmt.Sprintf("its draft is ahead of version %d (%s): exported version %d, which is what runs; a sync replaces the draft",
			a.Deployed.Number, tenant.JoinFields(fields), a.Deployed.Number))
	}
	return stamp.Body(a.Deployed.Code), a.Deployed.Dependencies, a.Deployed.Modules
}

// writeTriggers writes triggers.yaml: each trigger that has bindings, in
// order. A trigger without any is left out, so the repo does not manage it.
func writeTriggers(root *os.Root, bindings map[string][]tenant.Binding) ([]string, error) {
	out := map[string][]any{}
	ids := []string{}
	for id, bs := range bindings {
		if len(bs) == 0 {
			continue
		}
		ids = append(ids, id)
		for _, b := range bs {
			if b.DisplayName == "" || b.DisplayName == b.Action {
				out[id] = append(out[id], b.Action)
			} else {
				out[id] = append(out[id], namedBinding{Name: b.Action, DisplayName: b.DisplayName})
			}
		}
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		return ids, nil
	}
	return ids, writeYAML(root, "triggers.yaml", out)
}

func writeYAML(root *os.Root, name string, v any) error {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := root.WriteFile(name, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func sortedByName(as []*tenant.Action) []*tenant.Action {
	out := slices.Clone(as)
	slices.SortFunc(out, func(a, b *tenant.Action) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func sorted(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}
