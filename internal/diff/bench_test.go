package diff_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/tenant"
)

func thousand(changed bool) (*manifest.Repo, *tenant.State) {
	var actions []*manifest.Action
	live := &tenant.State{Bindings: map[string][]tenant.Binding{}}
	trig := &manifest.Trigger{ID: "post-login"}
	body := strings.Repeat("  // a line of a typical action, about sixty characters long\n", 40)
	for i := range 1000 {
		name := fmt.Sprintf("action-%04d", i)
		code := "exports.onExecutePostLogin = async (event, api) => {\n" + body + "};\n"
		a := desiredAction(name, code, apiKeySrc)
		actions = append(actions, a)
		l := synced(a, fmt.Sprint(i))
		if changed {
			l.Code = strings.Replace(l.Code, "typical", "changed", 7)
		}
		live.Actions = append(live.Actions, l)
		trig.Bindings = append(trig.Bindings, manifest.Binding{Action: name, DisplayName: name})
		live.Bindings["post-login"] = append(live.Bindings["post-login"], tenant.Binding{Action: name, DisplayName: name})
	}
	return repo(actions, trig), live
}

// BenchmarkPlan1000 plans 1,000 actions of ~2.5 KB each, with a secret, in
// the steady state and with every action's code changed (a unified diff
// each).
func BenchmarkPlan1000(b *testing.B) {
	for _, changed := range []bool{false, true} {
		desired, live := thousand(changed)
		b.Run(map[bool]string{false: "steady", true: "all-changed"}[changed], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := diff.Compute(desired, live, diff.Options{SecretKey: key})
				if err != nil || p.Empty() == changed {
					b.Fatal(err)
				}
			}
		})
	}
}
