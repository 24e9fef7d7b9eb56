package status_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/source"
	"github.com/actionsync/actionsync/internal/source/gittest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/status"
	"github.com/actionsync/actionsync/internal/sync"
	"github.com/actionsync/actionsync/internal/tenant"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

func code(v string) string {
	return "exports.onExecutePostLogin = async (event, api) => { /* " + v + " */ };\n"
}

var files = map[string]string{
	"actions/a/action.yaml": "trigger:\n  id: post-login\nsecrets:\n  - name: KEY\n    from_env: A_KEY\n",
	"actions/a/index.js":    code("a1"),
	"actions/b/action.yaml": "trigger:\n  id: post-login\n",
	"actions/b/index.js":    code("b1"),
	"triggers.yaml":         "post-login:\n  - a\n  - b\n",
}

// fixture is a tenant and a Git work tree with history, synced by the
// real engine.
type fixture struct {
	t    testing.TB
	srv  *tenanttest.Server
	repo *gittest.Repo
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	srv := tenanttest.Start(t, localtenant.Options{BuildDelay: 10 * time.Millisecond, Node: "-"})
	return &fixture{t: t, srv: srv, repo: gittest.New(t)}
}

func (f *fixture) sync() {
	f.t.Helper()
	eng := sync.New(f.srv.API, source.Worktree(f.repo.Dir), sync.Options{
		SecretKey: []byte("k"), Poll: 5 * time.Millisecond,
		Manifest: manifest.Options{Getenv: func(string) string { return "a-secret-value" }},
	})
	p, err := eng.Plan(f.t.Context())
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := eng.Apply(f.t.Context(), p); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) status() *status.Report {
	f.t.Helper()
	f.srv.ResetRequests()
	src := source.Worktree(f.repo.Dir)
	rep, err := status.Check(f.t.Context(), live.NewClient(f.srv.API), src, status.Options{History: src})
	if err != nil {
		f.t.Fatal(err)
	}
	if n := len(tenanttest.Writes(f.srv.Requests())); n != 0 {
		f.t.Errorf("status made %d writes", n)
	}
	return rep
}

func action(rep *status.Report, name string) status.Action {
	for _, a := range rep.Actions {
		if a.Action == name {
			return a
		}
	}
	return status.Action{}
}

// TestRevertNamesTheCommit: a revert synced is in sync, whatever the stamp
// says; the next commit, not yet synced, shows the revert as what runs.
func TestRevertNamesTheCommit(t *testing.T) {
	f := newFixture(t)
	c1 := f.repo.Commit(files)
	f.sync()
	if rep := f.status(); !rep.InSync || rep.Revision != c1 {
		t.Fatalf("after the first sync: %+v", rep)
	}
	f.repo.Commit(map[string]string{"actions/a/index.js": code("a2")})
	f.sync()
	c3 := f.repo.Commit(map[string]string{"actions/a/index.js": code("a1")}) // the revert
	f.sync()                                                                 // a rollback to version 1, stamped from c1

	rep := f.status()
	a := action(rep, "a")
	if !rep.InSync || a.State != status.InSync || a.Version != 3 || a.StampCommit != c1 || a.Owner != "actionsync" {
		t.Errorf("after the revert: in sync %v, a = %+v; want version 3 in sync, stamped from %s", rep.InSync, a, c1)
	}

	c4 := f.repo.Commit(map[string]string{"actions/a/index.js": code("a4")})
	rep = f.status()
	a = action(rep, "a")
	if rep.InSync || rep.Revision != c4 || a.State != status.Differs || a.MatchesCommit != c3 || !slices.Equal(a.Differs, []tenant.Field{tenant.FieldCode}) {
		t.Errorf("a commit ahead: in sync %v, a = %+v; want it to differ in code and name %s", rep.InSync, a, c3)
	}
	if b := action(rep, "b"); b.State != status.InSync {
		t.Errorf("b = %+v, want in sync", b)
	}
	var text bytes.Buffer
	rep.Text(&text)
	if !strings.Contains(text.String(), `action "a": version 3 differs from the commit (code); it is commit `+c3) {
		t.Errorf("text:\n%s", text.String())
	}
}

// TestDashboardEdit: an edit in the dashboard (which keeps the stamp line
// the code shows) and a reordered trigger are what status says differs.
func TestDashboardEdit(t *testing.T) {
	f := newFixture(t)
	f.repo.Commit(files)
	f.sync()
	ctx := context.Background()
	l, _ := f.srv.API.Action.List(ctx, management.Parameter("actionName", "b"))
	b := l.Actions[0]
	edited := strings.Replace(b.GetCode(), "b1", "edited in the dashboard", 1)
	if err := f.srv.API.Action.Update(ctx, b.GetID(), &management.Action{Name: b.Name, SupportedTriggers: b.SupportedTriggers, Code: auth0.String(edited)}); err != nil {
		t.Fatal(err)
	}
	tenanttest.WaitBuilt(t, f.srv.API, b.GetID())
	rep := f.status()
	if got := action(rep, "b"); got.State != status.DraftPending || !slices.Equal(got.DraftDiffers, []tenant.Field{tenant.FieldCode}) {
		t.Errorf("a draft edited: b = %+v, want a pending draft differing in code", got)
	}
	if _, err := f.srv.API.Action.Deploy(ctx, b.GetID()); err != nil {
		t.Fatal(err)
	}
	tenanttest.Bind(t, f.srv.API, "post-login", "b", "a")

	rep = f.status()
	got := action(rep, "b")
	if rep.InSync || got.State != status.Differs || got.MatchesCommit != "" || !slices.Equal(got.Differs, []tenant.Field{tenant.FieldCode}) || got.Version != 2 {
		t.Errorf("deployed: b = %+v, want version 2 differing in code, from no commit", got)
	}
	if len(rep.Triggers) != 1 || rep.Triggers[0].Matches {
		t.Errorf("triggers = %+v, want post-login to differ", rep.Triggers)
	}
	out, _ := json.Marshal(rep)
	var decoded struct {
		InSync  bool `json:"in_sync"`
		Actions []struct {
			Action  string   `json:"action"`
			State   string   `json:"state"`
			Differs []string `json:"differs"`
		} `json:"actions"`
		Triggers []struct {
			Matches bool `json:"matches"`
		} `json:"triggers"`
	}
	if err := json.Unmarshal(out, &decoded); err != nil || decoded.InSync || decoded.Actions[1].State != "differs" || decoded.Actions[1].Differs[0] != "code" {
		t.Errorf("json: %v\n%s", err, out)
	}
	var text bytes.Buffer
	rep.Text(&text)
	for _, want := range []string{
		`1 of 2 actions and 1 of 1 triggers differ`,
		`action "b": version 2 differs from the commit (code); no earlier commit looked through holds it (owner "actionsync")`,
		`trigger "post-login": bindings differ: want ["a", "b"], live ["b", "a"]`,
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
}

// TestNotInTenant: an action the tenant lacks is missing, and a directory
// outside Git has no history to look through.
func TestNotInTenant(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{BuildDelay: time.Millisecond, Node: "-"})
	r := gittest.New(t)
	r.Write(files)
	rep, err := status.Check(t.Context(), live.NewClient(srv.API), source.Dir(r.Dir), status.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.InSync || rep.Revision != "local" || action(rep, "a").State != status.Missing {
		t.Errorf("report = %+v", rep)
	}
}

// TestModules: status says which published version of a module the
// repo's actions run and whether it matches the commit; an action whose
// module version differs differs in its modules, and names the commit
// that holds it.
func TestModules(t *testing.T) {
	f := newFixture(t)
	withModule := map[string]string{
		"modules/m/module.yaml": "{}\n",
		"modules/m/index.js":    "exports.v = 1;\n",
		"actions/a/action.yaml": files["actions/a/action.yaml"] + "modules: [m]\n",
		"actions/b/action.yaml": files["actions/b/action.yaml"] + "modules: [m]\n",
	}
	for k, v := range files {
		if _, ok := withModule[k]; !ok {
			withModule[k] = v
		}
	}
	c1 := f.repo.Commit(withModule)
	f.sync()
	rep := f.status()
	live := []status.LiveVersion{{Version: 1, Actions: []string{"a", "b"}}}
	if len(rep.Modules) != 1 || rep.Modules[0].State != status.InSync || !slices.EqualFunc(rep.Modules[0].Live, live, sameLive) || !rep.InSync {
		t.Fatalf("after the sync: in sync %v, modules %+v", rep.InSync, rep.Modules)
	}

	f.repo.Commit(map[string]string{"modules/m/index.js": "exports.v = 2;\n"})
	rep = f.status()
	m := rep.Modules[0]
	live[0].Differs = []tenant.Field{tenant.FieldCode}
	if rep.InSync || m.State != status.Differs || !slices.EqualFunc(m.Live, live, sameLive) || m.Latest != 1 || m.Owner != "actionsync" {
		t.Errorf("a module edit, not synced: module %+v", m)
	}
	if a := action(rep, "a"); a.State != status.Differs || !slices.Equal(a.Differs, []tenant.Field{tenant.FieldModules}) || a.MatchesCommit != c1 {
		t.Errorf("a = %+v, want it to differ in its modules, and name %s", a, c1)
	}
	var text bytes.Buffer
	rep.Text(&text)
	for _, want := range []string{"2 of 2 actions, 1 of 1 modules and 0 of 1 triggers differ",
		`module "m": version 1 (run by a, b) differs from the commit (code); latest version 1 (owner "actionsync")`} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}

	f.sync()
	if rep = f.status(); !rep.InSync || rep.Modules[0].Live[0].Version != 2 {
		t.Errorf("after syncing the edit: in sync %v, module %+v", rep.InSync, rep.Modules[0])
	}
}

func sameLive(a, b status.LiveVersion) bool {
	return a.Version == b.Version && slices.Equal(a.Actions, b.Actions) && slices.Equal(a.Differs, b.Differs)
}

// TestOthersNamedRefused: a commit whose triggers.yaml names an action of
// another owner is refused by status as by sync, naming both owners, not
// reported as bindings that differ.
func TestOthersNamedRefused(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{BuildDelay: time.Millisecond, Node: "-"})
	a := &manifest.Action{Code: code("theirs")}
	theirs := stamp.For(a, "team-b", "0123abc", []byte("their key")).Code(a.Code)
	tenanttest.Seed(t, srv.API, tenanttest.Action{Name: "their-action", Trigger: "post-login", Code: theirs, Deploy: true})
	r := gittest.New(t)
	r.Write(files)
	r.Write(map[string]string{"triggers.yaml": "post-login:\n  - a\n  - their-action\n  - b\n"})
	_, err := status.Check(t.Context(), live.NewClient(srv.API), source.Dir(r.Dir), status.Options{})
	if !errors.Is(err, diff.ErrForeign) || !strings.Contains(err.Error(), "triggers.yaml:3: post-login: action their-action is written by owner team-b, and this repo is owner actionsync") {
		t.Errorf("error = %v, want the refusal sync gives", err)
	}
}
