package localtenant_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

// call sends one request to /api/v2/actions/{path} and fails the test
// unless the answer has status want; it returns the decoded answer.
func call(t testing.TB, srv *tenanttest.Server, tok, method, path, body string, want int) map[string]any {
	t.Helper()
	code, b := send(t, srv, tok, method, "/api/v2/actions/"+path, body)
	if code != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, b)
	}
	m, _ := decodeJSON(t, string(b)).(map[string]any)
	return m
}

// publishModule creates a module with code and publishes it: its id and
// the version's.
func publishModule(t *testing.T, srv *tenanttest.Server, tok, name, code string) (id, version string) {
	t.Helper()
	m := call(t, srv, tok, "POST", "modules", fmt.Sprintf(`{"name":%q,"code":%q,"publish":true}`, name, code), 201)
	return m["id"].(string), m["latest_version"].(map[string]any)["id"].(string)
}

// pins renders module references as name@number:version-id.
func pins(refs []management.ActionModules) []string {
	var out []string
	for _, r := range refs {
		out = append(out, fmt.Sprintf("%s@%d:%s", r.GetModuleName(), r.GetModuleVersionNumber(), r.GetModuleVersionID()))
	}
	return out
}

// deployedPins reads an action over plain HTTP (go-auth0's ActionVersion
// has no modules) and renders its deployed version's pins.
func deployedPins(t *testing.T, srv *tenanttest.Server, tok, id string) []string {
	t.Helper()
	a := call(t, srv, tok, "GET", "actions/"+id, "", 200)
	var out []string
	for _, m := range a["deployed_version"].(map[string]any)["modules"].([]any) {
		r := m.(map[string]any)
		out = append(out, fmt.Sprintf("%s@%s:%s", r["module_name"], r["module_version_number"], r["module_version_id"]))
	}
	return out
}

// TestActionModulesGoAuth0 drives actions that use modules through the
// real go-auth0 client: pins sent by id or by name and number come back
// complete, every version keeps the pins it was built with, and a rollback
// (versions/{id}/deploy) restores an earlier version's pins.
func TestActionModulesGoAuth0(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{})
	tok := fetchToken(t, srv)
	ctx := t.Context()
	api := srv.API.Action
	modID, v1 := publishModule(t, srv, tok, "logger", "module.exports = 1;")
	call(t, srv, tok, "PATCH", "modules/"+modID, `{"code":"module.exports = 2;"}`, 200)
	v2 := call(t, srv, tok, "POST", "modules/"+modID+"/versions", "", 200)["id"].(string)

	a := newAction("uses-logger")
	a.Modules = &[]management.ActionModules{{ModuleID: &modID, ModuleVersionID: &v1}}
	if err := api.Create(ctx, a); err != nil {
		t.Fatalf("create: %v", err)
	}
	if got, want := pins(a.GetModules()), []string{"logger@1:" + v1}; !slices.Equal(got, want) {
		t.Errorf("created pins %q, want %q (the tenant fills name and number)", got, want)
	}
	first, err := api.Deploy(ctx, a.GetID())
	if err != nil {
		t.Fatalf("deploy 1: %v", err)
	}

	// By name and number this time.
	upd := &management.Action{Name: a.Name, SupportedTriggers: a.SupportedTriggers, Modules: &[]management.ActionModules{
		{ModuleName: auth0.String("logger"), ModuleVersionNumber: auth0.Int(2)},
	}}
	if err := api.Update(ctx, a.GetID(), upd); err != nil {
		t.Fatalf("update: %v", err)
	}
	read, _ := api.Read(ctx, a.GetID())
	if got, want := pins(read.GetModules()), []string{"logger@2:" + v2}; !slices.Equal(got, want) || read.AllChangesDeployed {
		t.Errorf("draft pins %q all_changes_deployed %v, want %q false", got, read.AllChangesDeployed, want)
	}
	if _, err := api.Deploy(ctx, a.GetID()); err != nil {
		t.Fatalf("deploy 2: %v", err)
	}
	if got, want := deployedPins(t, srv, tok, a.GetID()), []string{"logger@2:" + v2}; !slices.Equal(got, want) {
		t.Errorf("deployed pins %q, want %q", got, want)
	}

	t.Run("rollback restores the pins", func(t *testing.T) {
		v3, err := api.DeployVersion(ctx, a.GetID(), first.GetID(), management.Body([]byte(`{"update_draft":true}`)))
		if err != nil || v3.Number != 3 {
			t.Fatalf("rollback: %v number %d", err, v3.Number)
		}
		want := []string{"logger@1:" + v1}
		if got := deployedPins(t, srv, tok, a.GetID()); !slices.Equal(got, want) {
			t.Errorf("deployed pins after rollback %q, want %q", got, want)
		}
		read, _ := api.Read(ctx, a.GetID())
		if got := pins(read.GetModules()); !slices.Equal(got, want) || !read.AllChangesDeployed {
			t.Errorf("draft pins after rollback %q all deployed %v, want %q true", got, read.AllChangesDeployed, want)
		}
		users := call(t, srv, tok, "GET", "modules/"+modID+"/actions", "", 200)["actions"].([]any)
		if len(users) != 1 || users[0].(map[string]any)["module_version_id"] != v1 {
			t.Errorf("actions using the module: %v, want the action at version 1", users)
		}
	})

	t.Run("bad references", func(t *testing.T) {
		before, _ := api.Read(ctx, a.GetID())
		other, _ := publishModule(t, srv, tok, "other", "module.exports = 3;")
		for _, tc := range []struct {
			name    string
			refs    []management.ActionModules
			index   int // of the reference refused
			message string
		}{
			{"unknown module", []management.ActionModules{{ModuleID: auth0.String("nope"), ModuleVersionNumber: auth0.Int(1)}}, 0,
				`the action module "nope" does not exist`},
			{"unknown version", []management.ActionModules{{ModuleID: &modID, ModuleVersionNumber: auth0.Int(9)}}, 0,
				`version "9" of the action module "logger" does not exist`},
			{"unknown version id", []management.ActionModules{{ModuleName: auth0.String("logger"), ModuleVersionID: auth0.String("nope")}}, 0,
				`version "nope" of the action module "logger" does not exist`},
			{"name of another module", []management.ActionModules{{ModuleID: &other, ModuleName: auth0.String("logger"), ModuleVersionNumber: auth0.Int(1)}}, 0,
				`module_name "logger" is not the name of the action module "` + other + `"`},
			{"number of another version", []management.ActionModules{{ModuleID: &modID, ModuleVersionID: &v1, ModuleVersionNumber: auth0.Int(2)}}, 0,
				`module_version_number 2 is not the number of version "` + v1 + `"`},
			{"no module", []management.ActionModules{{ModuleVersionNumber: auth0.Int(1)}}, 0, "module_id or module_name is required"},
			{"no version", []management.ActionModules{{ModuleID: &modID}}, 0, "module_version_id or module_version_number is required"},
			{"the same module twice", []management.ActionModules{
				{ModuleID: &modID, ModuleVersionNumber: auth0.Int(1)}, {ModuleName: auth0.String("logger"), ModuleVersionNumber: auth0.Int(2)},
			}, 1, `the action module "logger" is referenced more than once`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				bad := &management.Action{Name: a.Name, SupportedTriggers: a.SupportedTriggers, Modules: &tc.refs}
				err := api.Update(ctx, a.GetID(), bad)
				want := fmt.Sprintf("400 Bad Request: Invalid module reference on property modules[%d]: %s.", tc.index, tc.message)
				if err == nil || err.Error() != want {
					t.Errorf("got %v, want %s", err, want)
				}
				after, _ := api.Read(ctx, a.GetID())
				if !slices.Equal(pins(after.GetModules()), pins(before.GetModules())) || after.GetUpdatedAt() != before.GetUpdatedAt() {
					t.Errorf("the refused update changed the action: %q → %q", pins(before.GetModules()), pins(after.GetModules()))
				}
			})
		}
	})

	t.Run("a module in use by a draft only cannot be deleted", func(t *testing.T) {
		id, v := publishModule(t, srv, tok, "draft-only", "module.exports = 4;")
		d := newAction("draft-user")
		d.Modules = &[]management.ActionModules{{ModuleID: &id, ModuleVersionID: &v}}
		if err := api.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
		if got := call(t, srv, tok, "GET", "modules/"+id, "", 200)["actions_using_module_total"]; fmt.Sprint(got) != "0" {
			t.Errorf("actions_using_module_total = %v, want 0: no deployed action uses it", got)
		}
		call(t, srv, tok, "DELETE", "modules/"+id, "", http.StatusPreconditionFailed)
		if err := api.Update(ctx, d.GetID(), &management.Action{Name: d.Name, SupportedTriggers: d.SupportedTriggers, Modules: &[]management.ActionModules{}}); err != nil {
			t.Fatal(err)
		}
		call(t, srv, tok, "DELETE", "modules/"+id, "", http.StatusNoContent)
	})
}

// TestActionWithoutModulesHasNoModulesKey: an action that uses no module
// answers without a modules key, as the recorded answers of Auth0 do, so
// tools comparing an action without modules see no difference.
func TestActionWithoutModulesHasNoModulesKey(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{})
	tok := fetchToken(t, srv)
	_, b := send(t, srv, tok, "POST", "/api/v2/actions/actions", `{"name":"plain","supported_triggers":[{"id":"post-login","version":"v3"}],"deploy":true}`)
	if strings.Contains(string(b), `"modules"`) {
		t.Errorf("answer has a modules key: %s", b)
	}
}

// TestTestEndpointResolvesModules: the test endpoint runs a draft that
// requires a module it pins as actions:<name>, as Auth0's runtime does
// (https://auth0.com/docs/customize/actions/modules/write-your-first-action-module):
// the pinned version's code, with its own secrets as actions.secrets, masked.
func TestTestEndpointResolvesModules(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{})
	tok := fetchToken(t, srv)
	m := call(t, srv, tok, "POST", "modules", `{"name":"greeter","code":"module.exports = { hi: (n) => actions.secrets.WORD + ' ' + n + ' v1' };","secrets":[{"name":"WORD","value":"hello"}],"publish":true}`, 201)
	modID, v1 := m["id"].(string), m["latest_version"].(map[string]any)["id"].(string)
	call(t, srv, tok, "PATCH", "modules/"+modID, `{"code":"module.exports = { hi: (n) => 'v2' };"}`, 200)
	call(t, srv, tok, "POST", "modules/"+modID+"/versions", "", 200)
	a := call(t, srv, tok, "POST", "actions", fmt.Sprintf(`{"name":"greets","supported_triggers":[{"id":"post-login","version":"v3"}],`+
		`"code":"const g = require('actions:greeter'); exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('g', g.hi(event.user.name)); };",`+
		`"modules":[{"module_id":%q,"module_version_id":%q}]}`, modID, v1), 201)
	out := call(t, srv, tok, "POST", "actions/"+a["id"].(string)+"/test", `{"payload":{"event":{"user":{"name":"ada"}}}}`, 200)
	calls := out["payload"].(map[string]any)["api_calls"].([]any)
	if len(calls) != 1 || fmt.Sprint(calls[0].(map[string]any)["args"]) != "[g *** ada v1]" {
		t.Errorf("api_calls = %v (payload %v), want the pinned version 1 with its secret masked", calls, out["payload"])
	}
}
