package diff

import (
	"slices"
	"sort"

	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
)

// content is what a build is made of; two equal contents build the same.
type content struct {
	Code    string // with its stamp line
	Runtime string
	Deps    []tenant.Dependency
	Trigger tenant.TriggerRef
}

func desiredContent(a *manifest.Action, key []byte) content {
	return content{Code: stamp.Code(a, key), Runtime: a.Runtime, Deps: a.Dependencies, Trigger: a.Trigger}
}

func draftContent(a *tenant.Action) content {
	return content{Code: a.Code, Runtime: a.Runtime, Deps: a.Dependencies, Trigger: a.Trigger}
}

func versionContent(v *tenant.Version, trigger tenant.TriggerRef) content {
	return content{Code: v.Code, Runtime: v.Runtime, Deps: v.Dependencies, Trigger: trigger}
}

func (c content) equal(o content) bool { return len(c.differences(o)) == 0 }

// differences names the fields of c that differ from o.
func (c content) differences(o content) []tenant.Field {
	var f []tenant.Field
	if stamp.Body(c.Code) != stamp.Body(o.Code) {
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
	if stamp.Line(c.Code) != stamp.Line(o.Code) {
		f = append(f, tenant.FieldSecrets)
	}
	return f
}

// changedSecrets names the secrets whose value or presence differs between
// the desired action and the live one; values are never compared directly.
func changedSecrets(a *manifest.Action, key []byte, l *tenant.Action) []string {
	live := stamp.Fingerprints(l.Code)
	names := map[string]bool{}
	for _, n := range l.Secrets {
		names[n] = true
	}
	var out []string
	for _, s := range a.Secrets {
		if !names[s.Name] || live[s.Name] != stamp.Fingerprint(key, s.Name, s.Value) {
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
