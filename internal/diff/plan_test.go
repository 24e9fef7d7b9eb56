package diff_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
)

var update = flag.Bool("update", false, "rewrite golden files")

var (
	key        = []byte("test-key")
	postLogin  = tenant.TriggerRef{ID: "post-login", Version: "v3"}
	lodash     = []tenant.Dependency{{Name: "lodash", Version: "4.17.21"}}
	codeV1     = "exports.onExecutePostLogin = async (event, api) => {};\n"
	codeV2     = "exports.onExecutePostLogin = async (event, api) => {\n  api.access.deny('no');\n};\n"
	apiKeySrc  = manifest.Secret{Name: "API_KEY", FromEnv: "K", Value: "v1"}
	apiKeySrc2 = manifest.Secret{Name: "API_KEY", FromEnv: "K", Value: "v2"}
)

func desiredAction(name, code string, secrets ...manifest.Secret) *manifest.Action {
	return &manifest.Action{Name: name, Dir: "actions/" + name, CodePath: "actions/" + name + "/index.js",
		Trigger: postLogin, Runtime: "node22", Code: code, Dependencies: lodash, Secrets: secrets}
}

func repo(actions []*manifest.Action, triggers ...*manifest.Trigger) *manifest.Repo {
	slices.SortFunc(actions, func(a, b *manifest.Action) int { return strings.Compare(a.Name, b.Name) })
	return &manifest.Repo{Actions: actions, Triggers: triggers}
}

func bindings(trigger string, names ...string) *manifest.Trigger {
	t := &manifest.Trigger{ID: trigger}
	for _, n := range names {
		t.Bindings = append(t.Bindings, manifest.Binding{Action: n, DisplayName: n})
	}
	return t
}

// stamped is a's code as actionsync uploads it, from an earlier commit.
func stamped(a *manifest.Action) string {
	return stamp.For(a, stamp.DefaultOwner, "c0", key).Code(a.Code)
}

// synced is the live twin of a desired action, built and deployed.
func synced(a *manifest.Action, id string) *tenant.Action {
	code := stamped(a)
	return &tenant.Action{
		ID: id, Name: a.Name, Trigger: a.Trigger, Code: code, Runtime: a.Runtime, Dependencies: a.Dependencies,
		Secrets: names(a.Secrets), Status: tenant.StatusBuilt,
		Deployed: &tenant.Version{ID: id + "-v1", Number: 1, Code: code, Runtime: a.Runtime, Dependencies: a.Dependencies},
	}
}

func names(ss []manifest.Secret) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func liveBindings(names ...string) []tenant.Binding {
	var out []tenant.Binding
	for _, n := range names {
		out = append(out, tenant.Binding{Action: n, DisplayName: n})
	}
	return out
}

type stepSummary struct {
	kind    diff.Kind
	subject string
	detail  string
}

func summarize(p *diff.Plan) []stepSummary {
	var out []stepSummary
	for _, s := range p.Steps {
		subject := s.Action
		switch {
		case s.Kind == diff.Bind:
			subject = s.Trigger
		case s.Kind.IsModule():
			subject = "module " + s.Module
		}
		var fields []string
		for _, f := range s.Fields {
			fields = append(fields, string(f))
		}
		detail := strings.Join(fields, ",")
		if s.Version != nil {
			detail = s.Version.ID
		}
		if len(s.Secrets) > 0 {
			detail += " secrets=" + strings.Join(s.Secrets, ",")
		}
		if s.Kind == diff.Bind {
			detail = s.Reason
		}
		for _, pin := range s.Modules {
			detail += " pins " + pin.String()
		}
		if len(s.Moves) > 0 {
			detail += " moves " + strings.Join(s.Moves, ",")
		}
		out = append(out, stepSummary{s.Kind, subject, detail})
	}
	return out
}

// computeCase is a plan to compute, and the steps and unmanaged entries
// (each "name: reason", a module's "module name: reason") it must have.
type computeCase struct {
	name      string
	desired   *manifest.Repo
	live      *tenant.State
	opts      diff.Options
	want      []stepSummary
	unmanaged []string
	err       error
}

// check computes tc's plan, twice: the same inputs must give the same plan.
func (tc computeCase) check(t *testing.T) {
	t.Helper()
	if tc.opts.SecretKey == nil {
		tc.opts.SecretKey = key
	}
	p, err := diff.Compute(tc.desired, tc.live, tc.opts)
	if !errors.Is(err, tc.err) {
		t.Fatalf("error = %v, want %v", err, tc.err)
	}
	if err != nil {
		return
	}
	if got := summarize(p); !slices.Equal(got, tc.want) {
		t.Errorf("steps:\n got %v\nwant %v", got, tc.want)
	}
	var un []string
	for _, u := range p.Unmanaged {
		if u.Module != "" {
			u.Action = "module " + u.Module
		}
		un = append(un, u.Action+": "+u.Reason)
	}
	if !slices.Equal(un, tc.unmanaged) {
		t.Errorf("unmanaged:\n got %q\nwant %q", un, tc.unmanaged)
	}
	again, _ := diff.Compute(tc.desired, tc.live, tc.opts)
	var x, y bytes.Buffer
	p.JSON(&x)
	again.JSON(&y)
	if x.String() != y.String() {
		t.Error("the same inputs gave two plans")
	}
}

func TestCompute(t *testing.T) {
	a := desiredAction("a", codeV1)
	b := desiredAction("b", codeV1, apiKeySrc)
	for _, tc := range []computeCase{
		{
			name:    "create into an empty tenant",
			desired: repo([]*manifest.Action{a, b}, bindings("post-login", "b", "a")),
			live:    &tenant.State{},
			want: []stepSummary{
				{diff.Create, "a", ""}, {diff.Create, "b", " secrets=API_KEY"},
				{diff.Bind, "post-login", "bind b, bind a"},
			},
		},
		{
			name:    "steady state plans nothing",
			desired: repo([]*manifest.Action{a, b}, bindings("post-login", "a", "b")),
			live: &tenant.State{Actions: []*tenant.Action{synced(a, "1"), synced(b, "2")},
				Bindings: map[string][]tenant.Binding{"post-login": liveBindings("a", "b")}},
		},
		{
			name:    "edited code is an update",
			desired: repo([]*manifest.Action{desiredAction("a", codeV2)}),
			live:    &tenant.State{Actions: []*tenant.Action{synced(a, "1")}},
			want:    []stepSummary{{diff.Update, "a", "code"}},
		},
		{
			name:    "changed dependency and runtime",
			desired: repo([]*manifest.Action{{Name: "a", Trigger: postLogin, Runtime: "node18", Code: codeV1, Dependencies: []tenant.Dependency{{Name: "lodash", Version: "4.17.20"}}}}),
			live:    &tenant.State{Actions: []*tenant.Action{synced(a, "1")}},
			want:    []stepSummary{{diff.Update, "a", "dependencies,runtime"}},
		},
		{
			name:    "a rotated secret is an update of the secret alone",
			desired: repo([]*manifest.Action{desiredAction("b", codeV1, apiKeySrc2)}),
			live:    &tenant.State{Actions: []*tenant.Action{synced(b, "2")}},
			want:    []stepSummary{{diff.Update, "b", "secrets secrets=API_KEY"}},
		},
		{
			name:    "the commit equals an earlier version: rollback",
			desired: repo([]*manifest.Action{a}),
			live: func() *tenant.State {
				l := synced(desiredAction("a", codeV2), "1")
				l.Deployed.Number = 2
				l.Versions = []tenant.Version{*l.Deployed, {ID: "old", Number: 1, Code: stamped(a), Runtime: "node22", Dependencies: lodash}}
				return &tenant.State{Actions: []*tenant.Action{l}}
			}(),
			want: []stepSummary{{diff.Rollback, "a", "old"}},
		},
		{
			name:    "an unstamped action (made by hand) is adopted to carry the stamp",
			desired: repo([]*manifest.Action{a}),
			live: func() *tenant.State {
				l := synced(a, "1")
				l.Code, l.Deployed.Code = codeV1, codeV1
				return &tenant.State{Actions: []*tenant.Action{l}}
			}(),
			want: []stepSummary{{diff.Adopt, "a", "owner"}},
		},
		{
			name:    "a stamp written before owners existed is the default owner's",
			desired: repo([]*manifest.Action{desiredAction("b", codeV1, apiKeySrc)}),
			live: func() *tenant.State {
				l := synced(desiredAction("b", codeV1, apiKeySrc), "2")
				legacy := codeV1 + "// actionsync:secrets API_KEY=" + stamp.Fingerprint(key, "API_KEY", "v1") + "\n"
				l.Code, l.Deployed.Code = legacy, legacy
				return &tenant.State{Actions: []*tenant.Action{l}}
			}(),
			want: nil,
		},
		{
			name:    "draft matches but was never deployed",
			desired: repo([]*manifest.Action{a}),
			live: func() *tenant.State {
				l := synced(a, "1")
				l.Deployed = nil
				return &tenant.State{Actions: []*tenant.Action{l}}
			}(),
			want: []stepSummary{{diff.Deploy, "a", ""}},
		},
		{
			name:    "a draft whose build failed is rebuilt, not deployed",
			desired: repo([]*manifest.Action{a}),
			live: func() *tenant.State {
				l := synced(a, "1")
				l.Deployed, l.Status = nil, tenant.StatusFailed
				return &tenant.State{Actions: []*tenant.Action{l}}
			}(),
			want: []stepSummary{{diff.Update, "a", "code"}},
		},
		{
			name:    "reordered bindings",
			desired: repo([]*manifest.Action{a, b}, bindings("post-login", "b", "a")),
			live: &tenant.State{Actions: []*tenant.Action{synced(a, "1"), synced(b, "2")},
				Bindings: map[string][]tenant.Binding{"post-login": liveBindings("a", "b")}},
			want: []stepSummary{{diff.Bind, "post-login", "reorder"}},
		},
		{
			name:    "a managed empty trigger unbinds everything",
			desired: repo([]*manifest.Action{a}, bindings("credentials-exchange")),
			live: &tenant.State{Actions: []*tenant.Action{synced(a, "1"), synced(desiredAction("m2m", codeV1), "3")},
				Bindings: map[string][]tenant.Binding{"credentials-exchange": liveBindings("m2m")}},
			unmanaged: []string{"m2m: not in the repo; --prune would delete it"},
			want:      []stepSummary{{diff.Bind, "credentials-exchange", "unbind m2m"}},
		},
		{
			name:      "an action not in the repo is left alone without --prune",
			desired:   repo([]*manifest.Action{a}),
			live:      &tenant.State{Actions: []*tenant.Action{synced(a, "1"), synced(desiredAction("old", codeV1), "9")}},
			unmanaged: []string{"old: not in the repo; --prune would delete it"},
		},
		{
			name:    "--prune deletes it, but not an integration nor one bound elsewhere",
			desired: repo([]*manifest.Action{a}, bindings("post-login", "a")),
			live: func() *tenant.State {
				integ := synced(desiredAction("market", codeV1), "7")
				integ.Integration = true
				return &tenant.State{
					Actions: []*tenant.Action{synced(a, "1"), synced(desiredAction("old", codeV1), "9"), integ,
						synced(desiredAction("elsewhere", codeV1), "8")},
					Bindings: map[string][]tenant.Binding{"post-login": liveBindings("a", "old"), "pre-user-registration": liveBindings("elsewhere")},
				}
			}(),
			opts: diff.Options{Prune: true},
			want: []stepSummary{{diff.Bind, "post-login", "unbind old"}, {diff.Delete, "old", ""}},
			unmanaged: []string{
				"elsewhere: bound to pre-user-registration, a trigger the repo does not manage: not deleted (the API answers 409)",
				"market: a Marketplace integration: never deleted",
			},
		},
		{
			name:    "a plan that deletes every action is refused",
			desired: repo(nil),
			live:    &tenant.State{Actions: []*tenant.Action{synced(a, "1")}},
			opts:    diff.Options{Prune: true},
			err:     diff.ErrDeletesAll,
		},
		{
			name:    "unless --allow-empty",
			desired: repo(nil),
			live:    &tenant.State{Actions: []*tenant.Action{synced(a, "1")}},
			opts:    diff.Options{Prune: true, AllowEmpty: true},
			want:    []stepSummary{{diff.Delete, "a", ""}},
		},
	} {
		t.Run(tc.name, tc.check)
	}
}

func TestRollbackCandidates(t *testing.T) {
	a := desiredAction("a", codeV1)
	live := &tenant.State{Actions: []*tenant.Action{synced(desiredAction("a", codeV2), "1"), synced(desiredAction("b", codeV1), "2")}}
	got := diff.RollbackCandidates(repo([]*manifest.Action{a, desiredAction("b", codeV1)}), live, diff.Options{SecretKey: key})
	if !slices.Equal(got, []string{"a"}) {
		t.Errorf("candidates = %v, want [a]", got)
	}
}

// richPlan has every kind of step but the module adopts and rollbacks, for
// the golden renderings.
func richPlan(t *testing.T) *diff.Plan {
	t.Helper()
	old := synced(desiredAction("rolled", codeV2), "3")
	old.Versions = []tenant.Version{*old.Deployed, {ID: "v-old", Number: 1, Code: stamped(desiredAction("rolled", codeV1)), Runtime: "node22", Dependencies: lodash}}
	undeployed := synced(desiredAction("undeployed", codeV1), "4")
	undeployed.Deployed = nil
	handmade := synced(desiredAction("handmade", codeV1), "6")
	handmade.Code, handmade.Deployed.Code = codeV1, codeV1
	claims := desiredModule("claims", modV2, modKey)
	desired := withModules(repo([]*manifest.Action{
		using(desiredAction("new-one", codeV1, apiKeySrc), "claims"), using(desiredAction("edited", codeV2, apiKeySrc2), "claims"),
		desiredAction("rolled", codeV1), desiredAction("undeployed", codeV1), desiredAction("handmade", codeV1),
	}, bindings("post-login", "undeployed", "edited", "new-one")), claims)
	oldClaims := desiredModule("claims", modV1, modKey)
	live := &tenant.State{
		Actions: []*tenant.Action{pinned(desiredAction("edited", codeV1, apiKeySrc), "2", pin("claims", 1)), old, undeployed,
			synced(desiredAction("gone", codeV1), "5"), handmade},
		Bindings: map[string][]tenant.Binding{"post-login": liveBindings("edited", "gone")},
		Modules:  []*tenant.Module{withVersions(published(oldClaims, 1), moduleVersion(oldClaims, 1)), published(desiredModule("unused", modV1), 4)},
	}
	p, err := diff.Compute(desired, live, diff.Options{Prune: true, SecretKey: key})
	if err != nil {
		t.Fatal(err)
	}
	p.Revision = "3f2c1a9e`x-dirty"
	return p
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/diff -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func TestRenderings(t *testing.T) {
	p := richPlan(t)
	for _, r := range []struct {
		file   string
		render func(*bytes.Buffer) error
	}{
		{"plan.txt", func(b *bytes.Buffer) error { return p.Text(b) }},
		{"plan.md", func(b *bytes.Buffer) error { return p.Markdown(b, 0) }},
		{"plan.json", func(b *bytes.Buffer) error { return p.JSON(b) }},
	} {
		t.Run(r.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := r.render(&b); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), "v1") && strings.Contains(b.String(), "v2") && strings.Contains(b.String(), "\"v2\"") {
				t.Error("a secret value reached the rendering")
			}
			golden(t, r.file, b.Bytes())
		})
	}
}

func TestMarkdownLimit(t *testing.T) {
	var actions []*manifest.Action
	big := strings.Repeat("// a long line of code that changes the plan a great deal\n", 400)
	for i := range 30 {
		actions = append(actions, desiredAction(strings.Repeat("x", i+1), big))
	}
	p, err := diff.Compute(repo(actions), &tenant.State{}, diff.Options{SecretKey: key})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	p.Markdown(&b, 0)
	if b.Len() > diff.MarkdownLimit {
		t.Errorf("comment is %d characters, over %d", b.Len(), diff.MarkdownLimit)
	}
	if !strings.Contains(b.String(), "The plan is cut here") || !strings.Contains(b.String(), "| `+` | create | `xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx (post-login)`") {
		t.Errorf("a cut comment must keep the whole table and say it was cut")
	}
}
