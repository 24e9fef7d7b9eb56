package diff

import (
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
)

// content is what a build is made of, and who made it: two equal contents
// build the same. An Action Module's content is the same, with no runtime,
// trigger or pins.
type content struct {
	Body    string // the code without its stamp line
	Stamp   stamp.Stamp
	Stamped bool // the code has a stamp line
	Runtime string
	Deps    []tenant.Dependency
	Trigger tenant.TriggerRef
	// Pins are the module versions an action pins, by module name, each
	// version as the plan sees it (see moduleSet.canonical).
	Pins []Pin
}

func desiredContent(a *manifest.Action, owner string, key []byte, pins []Pin) content {
	return content{Body: endLine(a.Code), Stamp: stamp.For(a, owner, "", key), Stamped: true, Runtime: a.Runtime, Deps: a.Dependencies, Trigger: a.Trigger, Pins: pins}
}

func liveContent(code, runtime string, deps []tenant.Dependency, trigger tenant.TriggerRef, pins []Pin) content {
	body, st, ok := stamp.Split(code)
	return content{Body: body, Stamp: st, Stamped: ok, Runtime: runtime, Deps: deps, Trigger: trigger, Pins: pins}
}

func draftContent(a *tenant.Action, ms moduleSet) content {
	return liveContent(a.Code, a.Runtime, a.Dependencies, a.Trigger, ms.canonical(a.Modules))
}

func versionContent(v *tenant.Version, trigger tenant.TriggerRef, ms moduleSet) content {
	return liveContent(v.Code, v.Runtime, v.Dependencies, trigger, ms.canonical(v.Modules))
}

// endLine ends code with a newline, as the tenant's code reads back once
// stamped.
func endLine(code string) string {
	if code == "" || strings.HasSuffix(code, "\n") {
		return code
	}
	return code + "\n"
}

func (c content) equal(o content) bool { return len(c.differences(o)) == 0 }

// build is c without its stamp: what a build is made of, whoever made it.
func (c content) build() content {
	c.Stamp, c.Stamped = stamp.Stamp{}, false
	return c
}

// differences names the fields of c that differ from o.
func (c content) differences(o content) []tenant.Field {
	var f []tenant.Field
	if c.Body != o.Body {
		f = append(f, tenant.FieldCode)
	}
	if !slices.Equal(c.Deps, o.Deps) {
		f = append(f, tenant.FieldDependencies)
	}
	if c.Runtime != o.Runtime {
		f = append(f, tenant.FieldRuntime)
	}
	if c.Trigger != o.Trigger {
		f = append(f, tenant.FieldTrigger)
	}
	if !maps.Equal(c.Stamp.Secrets, o.Stamp.Secrets) {
		f = append(f, tenant.FieldSecrets)
	}
	if c.Stamp.Owner != o.Stamp.Owner || c.Stamped != o.Stamped {
		f = append(f, tenant.FieldOwner)
	}
	if !slices.Equal(c.Pins, o.Pins) {
		f = append(f, tenant.FieldModules)
	}
	return f
}

// changedSecrets names the secrets whose value or presence differs between
// the desired action or module (its secrets) and the live one (its draft's
// content, whose stamp holds the fingerprints, and its secret names);
// values are never compared directly.
func changedSecrets(want content, secrets []manifest.Secret, draft content, liveNames []string) []string {
	live := draft.Stamp.Secrets
	names := map[string]bool{}
	for _, n := range liveNames {
		names[n] = true
	}
	var out []string
	for _, s := range secrets {
		if !names[s.Name] || live[s.Name] != want.Stamp.Secrets[s.Name] {
			out = append(out, s.Name)
		}
		delete(names, s.Name)
	}
	for n := range names {
		out = append(out, n) // removed
	}
	sort.Strings(out)
	return out
}
