package sync_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/sync"
	"github.com/actionsync/actionsync/internal/tenant"
	"github.com/actionsync/actionsync/internal/transport"
	"github.com/auth0/go-auth0/management"
)

// The example repo's module, claims, is used by enrich-profile and
// add-token-claims.
const (
	claimsCode   = "modules/claims/index.js"
	claimsEdited = "exports.claim = (name) => 'https://example.org/' + name;\n"
)

// pinsOf is each action's deployed module pins, as module@number, read
// through the reader (go-auth0's ActionVersion has no modules).
func pinsOf(t *testing.T, f *fixture) map[string][]string {
	t.Helper()
	actions, err := live.NewReader(live.NewClient(f.api)).Actions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, a := range actions {
		if a.Deployed == nil {
			continue
		}
		for _, p := range a.Deployed.Modules {
			out[a.Name] = append(out[a.Name], fmt.Sprintf("%s@%d", p.Module, p.Version))
		}
	}
	return out
}

func assertPins(t *testing.T, f *fixture, want map[string][]string) {
	t.Helper()
	got := pinsOf(t, f)
	for name, pins := range want {
		if !slices.Equal(got[name], pins) {
			t.Errorf("%s pins %q, want %q", name, got[name], pins)
		}
	}
}

var claimsUsers = func(v string) map[string][]string {
	return map[string][]string{"enrich-profile": {"claims@" + v}, "add-token-claims": {"claims@" + v}}
}

// TestModuleFirstSync: a module and two actions that use it, into an
// empty tenant: the module created published (one call), before the
// actions are created pinning its version 1.
func TestModuleFirstSync(t *testing.T) {
	f := newFixture(t, exampleFiles(t), localtenant.Options{})
	res, calls, err := f.reconcile(sync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, concat(repeat(createCall, 4), repeat(deployCall, 4), []string{bindLogin, bindM2M, moduleCreateCall}))
	s := res.Plan.Steps[0]
	if s.Kind != diff.ModuleCreate || s.Module != "claims" || !slices.Equal(s.Moves, []string{"add-token-claims", "enrich-profile"}) {
		t.Errorf("first step %+v, want the module's create, moving its two actions", s)
	}
	if res.Applied[0].Version != 1 {
		t.Errorf("the module's create made version %d, want 1", res.Applied[0].Version)
	}
	// The module is created before the actions that use it.
	var modules struct {
		Modules []struct {
			CreatedAt time.Time `json:"created_at"`
		} `json:"modules"`
	}
	if err := f.api.Request(t.Context(), http.MethodGet, f.api.URI("actions", "modules"), &modules); err != nil || len(modules.Modules) != 1 {
		t.Fatalf("list modules: %v %+v", err, modules)
	}
	for _, name := range []string{"enrich-profile", "add-token-claims"} {
		l, _ := f.api.Action.List(t.Context(), management.Parameter("actionName", name))
		if created := l.Actions[0].GetCreatedAt(); created.Before(modules.Modules[0].CreatedAt) {
			t.Errorf("%s was created at %v, before the module it uses (%v)", name, created, modules.Modules[0].CreatedAt)
		}
	}
	assertPins(t, f, claimsUsers("1"))
	assertSteady(t, f)
}

// TestModuleEdit: an edited module is updated and published once, and
// the two actions that use it are updated to pin the new version and
// deployed, in one run; no binding is written.
func TestModuleEdit(t *testing.T) {
	f := synced(t)
	f.repo.write(map[string]string{claimsCode: claimsEdited})
	f.repo.commit("claims under example.org")
	res, calls, err := f.reconcile(sync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, []string{moduleUpdateCall, publishCall, updateCall, updateCall, deployCall, deployCall})
	for _, s := range res.Plan.Steps[1:] {
		if s.Kind != diff.Update || !slices.Equal(s.Fields, []tenant.Field{tenant.FieldModules}) {
			t.Errorf("step %s %s: fields %v, want an update of its modules alone", s.Kind, s.Action, s.Fields)
		}
	}
	assertPins(t, f, claimsUsers("2"))
	assertSteady(t, f)
}

// TestModuleRevert: a revert of a module's change publishes nothing: the
// module's draft returns to version 1, and the two actions roll back to
// their versions that pin it (no build).
func TestModuleRevert(t *testing.T) {
	f := newFixture(t, exampleFiles(t), localtenant.Options{})
	first, _ := f.repo.repo.Head()
	if _, _, err := f.reconcile(sync.Options{}); err != nil {
		t.Fatal(err)
	}
	f.repo.write(map[string]string{claimsCode: claimsEdited})
	f.repo.commit("claims under example.org")
	if _, _, err := f.reconcile(sync.Options{}); err != nil {
		t.Fatal(err)
	}
	f.repo.revertTo(first.Hash().String(), "Revert \"claims under example.org\"")
	res, calls, err := f.reconcile(sync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, []string{moduleRollbackCall, rollbackCall, rollbackCall})
	if s := res.Plan.Steps[0]; s.Kind != diff.ModuleRollback || s.Version.Number != 1 {
		t.Errorf("first step %+v, want the module's rollback to version 1", s)
	}
	assertPins(t, f, claimsUsers("1"))
	res, calls, err = f.reconcile(sync.Options{})
	if err != nil || !res.Plan.Empty() || len(calls) != 0 {
		t.Fatalf("after the revert: %v, steps %+v, calls %q", err, res.Plan.Steps, calls)
	}
	// The module's latest version is not the commit's: which one is, its
	// versions say, at one more read than the steady state.
	if n := reads(f.srv); n != 6 {
		t.Errorf("after the revert, a plan made %d reads, want 6", n)
	}
}

// TestModuleRemoved: a module dropped by one action, then by the other and
// by the repo: each action is updated and deployed; the module is left
// alone without --prune, and with it deleted after its last user stops
// using it.
func TestModuleRemoved(t *testing.T) {
	f := synced(t)
	files := exampleFiles(t)
	f.repo.write(map[string]string{
		"actions/add-token-claims/action.yaml": strings.Replace(files["actions/add-token-claims/action.yaml"], "modules:\n  - claims\n", "", 1),
		"actions/add-token-claims/index.js":    "exports.onExecuteCredentialsExchange = async (event, api) => {};\n",
	})
	f.repo.commit("add-token-claims without claims")
	_, calls, err := f.reconcile(sync.Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, []string{updateCall, deployCall})
	assertPins(t, f, map[string][]string{"enrich-profile": {"claims@1"}, "add-token-claims": nil})

	f.repo.remove("modules")
	f.repo.write(map[string]string{
		"actions/enrich-profile/action.yaml": strings.Replace(files["actions/enrich-profile/action.yaml"], "modules:\n  - claims\n", "", 1),
		"actions/enrich-profile/index.js":    "exports.onExecutePostLogin = async (event, api) => {};\n",
	})
	f.repo.commit("no more modules")
	res, calls, err := f.reconcile(sync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, []string{updateCall, deployCall})
	if u := res.Plan.Unmanaged; len(u) != 1 || u[0].Module != "claims" {
		t.Errorf("unmanaged = %+v, want the module, left alone", u)
	}
	_, calls, err = f.reconcile(sync.Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, []string{moduleDeleteCall})
	assertSteady(t, f)
}

// TestModuleDeletedAfterItsLastUser: with --prune in one run, the action
// that stops using the module is updated and deployed, and only then is
// the module deleted (Auth0 refuses to delete a module a deployed action
// version uses).
func TestModuleDeletedAfterItsLastUser(t *testing.T) {
	f := synced(t)
	files := exampleFiles(t)
	f.repo.remove("modules")
	for _, a := range []string{"enrich-profile", "add-token-claims"} {
		f.repo.write(withoutClaims(files, a))
	}
	f.repo.commit("no more modules")
	_, calls, err := f.reconcile(sync.Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, []string{updateCall, updateCall, deployCall, deployCall, moduleDeleteCall})
	var routes []string
	for _, r := range f.srv.Requests() {
		routes = append(routes, transport.Route(r.Method, r.Path))
	}
	if del, last := slices.Index(routes, moduleDeleteCall), slicesLastIndex(routes, deployCall); del < last {
		t.Errorf("the module was deleted (request %d) before the last deploy (request %d)", del, last)
	}
	assertSteady(t, f)
}

func slicesLastIndex(s []string, v string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == v {
			return i
		}
	}
	return -1
}

// TestModuleSteadyState: a synced repo with a module costs no write, and
// one read more than without: a page of modules (100 a page); a repo and
// a tenant without modules read none.
func TestModuleSteadyState(t *testing.T) {
	t.Run("with a module", func(t *testing.T) {
		f := synced(t)
		if _, calls, err := f.reconcile(sync.Options{}); err != nil || len(calls) != 0 {
			t.Fatalf("%v, calls %q", err, calls)
		}
		if n := reads(f.srv); n != 5 {
			t.Errorf("%d reads, want 5: triggers, actions, modules, two triggers' bindings", n)
		}
	})
	t.Run("with 101 modules, two pages of them", func(t *testing.T) {
		f := newFixture(t, exampleFiles(t), localtenant.Options{MaxModules: 200})
		for i := range 100 {
			body := fmt.Sprintf(`{"name":"hand-made-%03d","code":"module.exports = %d;","publish":true}`, i, i)
			var out json.RawMessage
			if err := f.api.Request(t.Context(), http.MethodPost, f.api.URI("actions", "modules"), &out, management.Body([]byte(body))); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := f.reconcile(sync.Options{}); err != nil {
			t.Fatal(err)
		}
		res, calls, err := f.reconcile(sync.Options{})
		if err != nil || len(calls) != 0 {
			t.Fatalf("%v, calls %q", err, calls)
		}
		if n := reads(f.srv); n != 6 {
			t.Errorf("%d reads, want 6: triggers, actions, two pages of modules, two triggers' bindings", n)
		}
		if len(res.Plan.Unmanaged) != 100 {
			t.Errorf("%d left alone, want the 100 hand-made modules", len(res.Plan.Unmanaged))
		}
	})
	t.Run("no modules anywhere", func(t *testing.T) {
		files := exampleFiles(t)
		delete(files, "modules/claims/module.yaml")
		delete(files, claimsCode)
		for _, a := range []string{"enrich-profile", "add-token-claims"} {
			maps.Copy(files, withoutClaims(files, a))
		}
		f := newFixture(t, files, localtenant.Options{})
		if _, _, err := f.reconcile(sync.Options{}); err != nil {
			t.Fatal(err)
		}
		if _, calls, err := f.reconcile(sync.Options{}); err != nil || len(calls) != 0 {
			t.Fatalf("%v, calls %q", err, calls)
		}
		if n := reads(f.srv); n != 4 {
			t.Errorf("%d reads, want 4: no read of modules", n)
		}
	})
}

// TestModuleCreatedUnderTheRun: another writer creates the module between
// the plan and its create: the create answers 409, the actions that use it
// wait for it and are planned again with it, and the run converges, the
// module adopted.
func TestModuleCreatedUnderTheRun(t *testing.T) {
	f := newFixture(t, exampleFiles(t), localtenant.Options{})
	eng := f.engine(sync.Options{})
	p, err := eng.Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out json.RawMessage
	body := `{"name":"claims","code":"exports.claim = (name) => name;","publish":true}`
	if err := f.api.Request(t.Context(), http.MethodPost, f.api.URI("actions", "modules"), &out, management.Body([]byte(body))); err != nil {
		t.Fatal(err)
	}
	f.srv.ResetRequests()
	res, err := eng.Apply(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Replans != 1 {
		t.Errorf("%d replans, want 1", res.Replans)
	}
	// The 409, then the module adopted and published as version 2, and the
	// actions created pinning it.
	assertCalls(t, writes(f.srv), concat(repeat(moduleCreateCall, 1), []string{moduleUpdateCall, publishCall},
		repeat(createCall, 4), repeat(deployCall, 4), []string{bindLogin, bindM2M}))
	assertPins(t, f, claimsUsers("2"))
	assertSteady(t, f)
}

// TestModuleSecretRotation: a module secret whose value changed in its
// source publishes a new version (the new value in the module's update),
// which the actions pin; the value is nowhere but the secrets API.
func TestModuleSecretRotation(t *testing.T) {
	files := exampleFiles(t)
	files["modules/claims/module.yaml"] += "secrets:\n  - name: TOKEN\n    from_env: CLAIMS_TOKEN\n"
	f := newFixture(t, files, localtenant.Options{})
	f.env["CLAIMS_TOKEN"] = "token-1"
	if _, _, err := f.reconcile(sync.Options{}); err != nil {
		t.Fatal(err)
	}
	f.env["CLAIMS_TOKEN"] = "token-2"
	res, calls, err := f.reconcile(sync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, []string{moduleUpdateCall, publishCall, updateCall, updateCall, deployCall, deployCall})
	if s := res.Plan.Steps[0]; !slices.Equal(s.Secrets, []string{"TOKEN"}) || !slices.Equal(s.Fields, []tenant.Field{tenant.FieldSecrets}) {
		t.Errorf("step = %+v, want the module's secret alone", s)
	}
	assertPins(t, f, claimsUsers("2"))
	assertSteady(t, f)
	var plan strings.Builder
	res.Plan.JSON(&plan)
	st, err := live.NewReader(live.NewClient(f.api)).Modules(t.Context())
	if err != nil || len(st) != 1 || !strings.Contains(st[0].Code, " secrets=TOKEN:") {
		t.Fatalf("modules: %v %+v", err, st)
	}
	for what, text := range map[string]string{"plan": plan.String(), "module code": st[0].Code} {
		if strings.Contains(text, "token-2") || strings.Contains(text, "token-1") {
			t.Errorf("the %s shows the secret", what)
		}
	}
}

// withoutClaims are the files of example action a once it no longer uses
// the claims module: neither in its modules: nor in its code, whose
// require of it becomes a function of its own.
func withoutClaims(files map[string]string, a string) map[string]string {
	code := "actions/" + a + "/index.js"
	return map[string]string{
		"actions/" + a + "/action.yaml": strings.Replace(files["actions/"+a+"/action.yaml"], "modules:\n  - claims\n", "", 1),
		code:                            strings.Replace(files[code], "const { claim } = require('actions:claims');", "const claim = (name) => 'https://example.com/' + name;", 1),
	}
}
