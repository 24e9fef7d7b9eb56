package localtenant_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/auth0/go-auth0/management"
)

// actionJSON is a create body for a post-login action named name, with
// extra fields (a JSON fragment starting with a comma) added.
func actionJSON(name, extra string) string {
	return fmt.Sprintf(`{"name":%q,"supported_triggers":[{"id":"post-login","version":"v3"}],"deploy":true%s}`, name, extra)
}

// repeated is `,"key":[item(0),item(1),…]` with n items.
func repeated(key string, n int, item func(i int) string) string {
	items := make([]string, n)
	for i := range items {
		items[i] = item(i)
	}
	return fmt.Sprintf(`,%q:[%s]`, key, strings.Join(items, ","))
}

func deps(n int) string {
	return repeated("dependencies", n, func(i int) string { return fmt.Sprintf(`{"name":"pkg-%d","version":"1.0.0"}`, i) })
}

func secrets(n int) string {
	return repeated("secrets", n, func(i int) string { return fmt.Sprintf(`{"name":"S%d","value":"v"}`, i) })
}

func bindingsJSON(n int) string {
	return "{" + repeated("bindings", n, func(i int) string {
		return fmt.Sprintf(`{"ref":{"type":"action_name","value":"a%d"}}`, i)
	})[1:] + "}"
}

func moduleRefs(ids []string) string {
	return repeated("modules", len(ids), func(i int) string { return fmt.Sprintf(`{"module_id":%q,"module_version_number":1}`, ids[i]) })
}

// errorBody is Auth0's error answer.
type errorBody struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
	ErrorCode  string `json:"errorCode"`
}

func decodeError(b []byte) errorBody {
	var e errorBody
	json.Unmarshal(b, &e)
	return e
}

// snapshot is everything a client can read of the tenant's actions,
// bindings and modules, for "nothing changed" checks.
func snapshot(t *testing.T, srv *tenanttest.Server, tok string) string {
	t.Helper()
	var out []string
	for _, path := range []string{"actions?per_page=100", "triggers/post-login/bindings?per_page=100", "modules"} {
		_, b := send(t, srv, tok, "GET", "/api/v2/actions/"+path, "")
		out = append(out, string(b))
	}
	return strings.Join(out, "\n")
}

// limitCase is one documented limit: a tenant brought to it by setup, a
// request past it and the answer, and optionally a body at the limit that
// must be accepted.
type limitCase struct {
	name      string
	doc       string
	opts      localtenant.Options
	setup     func(t *testing.T, srv *tenanttest.Server, tok string) map[string]string
	method    string
	path      string
	over      string
	status    int
	message   string
	errorCode string
	atLimit   string
}

// Where Auth0 documents each limit.
const (
	limitsDoc = "https://auth0.com/docs/customize/actions/limitations"
	entityDoc = "https://auth0.com/docs/troubleshoot/customer-support/operational-policies/entity-limit-policy"
	moduleOAS = "https://auth0.com/docs/api/management/v2/actions/post-action-module"
	tooMany   = "You reached the limit of entities of this type for this tenant."
)

func createActions(n int) func(t *testing.T, srv *tenanttest.Server, tok string) map[string]string {
	return func(t *testing.T, srv *tenanttest.Server, tok string) map[string]string {
		ids := map[string]string{}
		for i := range n {
			ids[fmt.Sprintf("a%d", i)] = call(t, srv, tok, "POST", "actions", actionJSON(fmt.Sprintf("a%d", i), ""), 201)["id"].(string)
		}
		return ids
	}
}

func createModules(n int) func(t *testing.T, srv *tenanttest.Server, tok string) map[string]string {
	return func(t *testing.T, srv *tenanttest.Server, tok string) map[string]string {
		ids := map[string]string{}
		for i := range n {
			ids[fmt.Sprintf("m%d", i)], _ = publishModule(t, srv, tok, fmt.Sprintf("m%d", i), "module.exports = 0;")
		}
		return ids
	}
}

var limitCases = []limitCase{
	{name: "code over 100 kB", doc: limitsDoc, setup: createActions(1), method: "PATCH", path: "actions/{a0}",
		over:   fmt.Sprintf(`{"code":%q}`, strings.Repeat("x", 100<<10+1)),
		status: 400, errorCode: "invalid_body",
		message: "Payload validation error: 'String is too long (102401 chars), maximum 102400' on property code.",
		atLimit: fmt.Sprintf(`{"code":%q}`, strings.Repeat("x", 100<<10))},
	{name: "11 npm dependencies", doc: entityDoc, method: "POST", path: "actions",
		over: actionJSON("deps", deps(11)), status: 400, errorCode: "invalid_body",
		message: "Payload validation error: 'Array is too long (11), maximum 10' on property dependencies.",
		atLimit: actionJSON("deps", deps(10))},
	{name: "31 secrets", doc: entityDoc, method: "POST", path: "actions",
		over: actionJSON("secrets", secrets(31)), status: 400, errorCode: "invalid_body",
		message: "Payload validation error: 'Array is too long (31), maximum 30' on property secrets.",
		atLimit: actionJSON("secrets", secrets(30))},
	{name: "secret name of 129 characters", doc: limitsDoc, method: "POST", path: "actions",
		over:   actionJSON("secret-name", fmt.Sprintf(`,"secrets":[{"name":%q,"value":"v"}]`, strings.Repeat("K", 129))),
		status: 400, errorCode: "invalid_body",
		message: "Payload validation error: 'String is too long (129 chars), maximum 128' on property secrets[0].name.",
		atLimit: actionJSON("secret-name", fmt.Sprintf(`,"secrets":[{"name":%q,"value":"v"}]`, strings.Repeat("K", 128)))},
	{name: "secret value of 4097 characters", doc: limitsDoc, method: "POST", path: "actions",
		over:   actionJSON("secret-value", fmt.Sprintf(`,"secrets":[{"name":"K","value":%q}]`, strings.Repeat("v", 4097))),
		status: 400, errorCode: "invalid_body",
		message: "Payload validation error: 'String is too long (4097 chars), maximum 4096' on property secrets[0].value.",
		atLimit: actionJSON("secret-value", fmt.Sprintf(`,"secrets":[{"name":"K","value":%q}]`, strings.Repeat("v", 4096)))},
	{name: "21 bound actions on a trigger", doc: entityDoc, setup: createActions(21), method: "PATCH", path: "triggers/post-login/bindings",
		over: bindingsJSON(21), status: 400, errorCode: "invalid_body",
		message: "Payload validation error: 'Array is too long (21), maximum 20' on property bindings.",
		atLimit: bindingsJSON(20)},
	{name: "4 modules in an action", doc: entityDoc, setup: createModules(4), method: "POST", path: "actions",
		over: actionJSON("uses-4", moduleRefs([]string{"{m0}", "{m1}", "{m2}", "{m3}"})), status: 400, errorCode: "invalid_body",
		message: "Payload validation error: 'Array is too long (4), maximum 3' on property modules.",
		atLimit: actionJSON("uses-3", moduleRefs([]string{"{m0}", "{m1}", "{m2}"}))},
	{name: "101st action by default", doc: entityDoc, setup: createActions(100), method: "POST", path: "actions",
		over: actionJSON("one-too-many", ""), status: 403, errorCode: "too_many_entities", message: tooMany},
	{name: "3rd action with MaxActions 2", doc: entityDoc, opts: localtenant.Options{MaxActions: 2}, setup: createActions(2),
		method: "POST", path: "actions", over: actionJSON("one-too-many", ""), status: 403, errorCode: "too_many_entities", message: tooMany},
	{name: "101st module by default", doc: entityDoc, setup: createModules(100), method: "POST", path: "modules",
		over: `{"name":"one-too-many","code":"x"}`, status: 403, errorCode: "too_many_entities", message: tooMany},
	{name: "2nd module with MaxModules 1", doc: entityDoc, opts: localtenant.Options{MaxModules: 1}, setup: createModules(1),
		method: "POST", path: "modules", over: `{"name":"one-too-many","code":"x"}`, status: 403, errorCode: "too_many_entities", message: tooMany},
	{name: "31 secrets in a module", doc: entityDoc, method: "POST", path: "modules",
		over: `{"name":"m","code":"x"` + secrets(31) + `}`, status: 400, errorCode: "invalid_body",
		message: "Payload validation error: 'Array is too long (31), maximum 30' on property secrets.",
		atLimit: `{"name":"m","code":"x"` + secrets(30) + `}`},
	{name: "11 npm dependencies in a module", doc: entityDoc, method: "POST", path: "modules",
		over: `{"name":"m","code":"x"` + deps(11) + `}`, status: 400, errorCode: "invalid_body",
		message: "Payload validation error: 'Array is too long (11), maximum 10' on property dependencies.",
		atLimit: `{"name":"m","code":"x"` + deps(10) + `}`},
	{name: "module secret name of 256 characters", doc: moduleOAS, method: "POST", path: "modules",
		over:   fmt.Sprintf(`{"name":"m","code":"x","secrets":[{"name":%q,"value":"v"}]}`, strings.Repeat("K", 256)),
		status: 400, errorCode: "invalid_body",
		message: "Payload validation error: 'String is too long (256 chars), maximum 255' on property secrets[0].name.",
		atLimit: fmt.Sprintf(`{"name":"m","code":"x","secrets":[{"name":%q,"value":"v"}]}`, strings.Repeat("K", 255))},
}

// TestLimits: each documented limit refused with its status, message and
// errorCode, nothing in the tenant changed by the refusal, and (where the
// limit bounds a body) a body at the limit accepted.
func TestLimits(t *testing.T) {
	for _, tc := range limitCases {
		t.Run(tc.name, func(t *testing.T) {
			srv := tenanttest.Start(t, tc.opts)
			tok := fetchToken(t, srv)
			ids := map[string]string{}
			if tc.setup != nil {
				ids = tc.setup(t, srv, tok)
			}
			path := "/api/v2/actions/" + fill(tc.path, ids)
			before := snapshot(t, srv, tok)
			code, body := send(t, srv, tok, tc.method, path, fill(tc.over, ids))
			got := decodeError(body)
			if code != tc.status || got.StatusCode != tc.status || got.Error != http.StatusText(tc.status) ||
				got.Message != tc.message || got.ErrorCode != tc.errorCode {
				t.Errorf("past the limit (%s): %d %s\nwant %d %q errorCode %q", tc.doc, code, body, tc.status, tc.message, tc.errorCode)
			}
			if after := snapshot(t, srv, tok); after != before {
				t.Errorf("the refused request changed the tenant:\nbefore %s\nafter  %s", before, after)
			}
			if tc.atLimit == "" {
				return
			}
			if code, body := send(t, srv, tok, tc.method, path, fill(tc.atLimit, ids)); code >= 300 {
				t.Errorf("at the limit: %d %s, want it accepted", code, body)
			}
		})
	}
}

// TestIntegrationsCountAsActions: a Marketplace integration is an action
// of the tenant, so it counts toward the limit and is refused past it.
func TestIntegrationsCountAsActions(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{MaxActions: 1})
	if _, err := srv.InstallIntegration("first", "post-login"); err != nil {
		t.Fatal(err)
	}
	_, err := srv.InstallIntegration("second", "post-login")
	if status(err) != 0 || err == nil || err.Error() != tooMany {
		t.Errorf("second integration past MaxActions 1: %v, want %q", err, tooMany)
	}
	if err := srv.API.Action.Create(t.Context(), newAction("third")); status(err) != http.StatusForbidden {
		t.Errorf("create past the limit: %v, want 403", err)
	}
}

// TestActionVersionRetention: 55 deploys keep the 50 newest versions, the
// deployed one among them, numbered on from 55; the oldest kept can still
// be rolled back to, and the rollback drops the next oldest.
func TestActionVersionRetention(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{})
	api := srv.API.Action
	ctx := t.Context()
	a := newAction("many-versions")
	if err := api.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	var first string
	for i := range 55 {
		v, err := api.Deploy(ctx, a.GetID())
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = v.GetID()
		}
	}
	vl, err := api.Versions(ctx, a.GetID(), management.PerPage(100))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := numbers(vl), countDown(55, 6); !slices.Equal(got, want) || vl.Total != 50 {
		t.Fatalf("versions after 55 deploys: total %d numbers %v, want 50: %v", vl.Total, got, want)
	}
	read, _ := api.Read(ctx, a.GetID())
	if !vl.Versions[0].Deployed || vl.Versions[0].GetID() != read.DeployedVersion.GetID() {
		t.Errorf("newest version deployed %v id %s, want the deployed version %s", vl.Versions[0].Deployed, vl.Versions[0].GetID(), read.DeployedVersion.GetID())
	}
	if _, err := api.Version(ctx, a.GetID(), first); status(err) != http.StatusNotFound {
		t.Errorf("version 1 after 55 deploys: %v, want 404", err)
	}
	oldest := vl.Versions[len(vl.Versions)-1]
	if v, err := api.DeployVersion(ctx, a.GetID(), oldest.GetID()); err != nil || v.Number != 56 {
		t.Fatalf("rollback to version %d: %v number %d, want 56", oldest.Number, err, v.Number)
	}
	vl, _ = api.Versions(ctx, a.GetID(), management.PerPage(100))
	if got, want := numbers(vl), countDown(56, 7); !slices.Equal(got, want) {
		t.Errorf("versions after the rollback: %v, want %v", got, want)
	}
}

func numbers(vl *management.ActionVersionList) []int {
	out := make([]int, 0, len(vl.Versions))
	for _, v := range vl.Versions {
		out = append(out, v.Number)
	}
	return out
}

func countDown(from, to int) []int {
	var out []int
	for n := from; n >= to; n-- {
		out = append(out, n)
	}
	return out
}

// moduleVersionNumbers lists a module's version numbers, newest first.
func moduleVersionNumbers(t *testing.T, srv *tenanttest.Server, tok, id string) []int {
	t.Helper()
	var out []int
	for _, v := range call(t, srv, tok, "GET", "modules/"+id+"/versions?per_page=100", "", 200)["versions"].([]any) {
		n, _ := v.(map[string]any)["version_number"].(json.Number).Int64()
		out = append(out, int(n))
	}
	return out
}

// republish changes a module's draft and publishes it: the new version's id.
func republish(t *testing.T, srv *tenanttest.Server, tok, id string, n int) string {
	t.Helper()
	call(t, srv, tok, "PATCH", "modules/"+id, fmt.Sprintf(`{"code":"module.exports = %d;"}`, n), 200)
	return call(t, srv, tok, "POST", "modules/"+id+"/versions", "", 200)["id"].(string)
}

// TestModuleVersionRetention: a module keeps 50 versions. Past that the
// oldest version no action pins is deleted, numbers going on; when every
// one is pinned (by the 50 versions an action keeps) publishing is refused
// with the documented 412 and nothing changes; once the action's own
// retention drops the oldest pin, publishing goes on.
func TestModuleVersionRetention(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{})
	tok := fetchToken(t, srv)

	t.Run("unpinned", func(t *testing.T) {
		id, _ := publishModule(t, srv, tok, "unpinned", "module.exports = 1;")
		for n := 2; n <= 55; n++ {
			republish(t, srv, tok, id, n)
		}
		if got, want := moduleVersionNumbers(t, srv, tok, id), countDown(55, 6); !slices.Equal(got, want) {
			t.Errorf("versions after 55 publishes: %v, want %v", got, want)
		}
	})

	t.Run("pinned", func(t *testing.T) {
		id, v := publishModule(t, srv, tok, "pinned", "module.exports = 1;")
		a := call(t, srv, tok, "POST", "actions", actionJSON("pins", fmt.Sprintf(`,"modules":[{"module_id":%q,"module_version_id":%q}]`, id, v)), 201)["id"].(string)
		for n := 2; n <= 50; n++ {
			v = republish(t, srv, tok, id, n)
			call(t, srv, tok, "PATCH", "actions/"+a, fmt.Sprintf(`{"modules":[{"module_id":%q,"module_version_id":%q}]}`, id, v), 200)
			call(t, srv, tok, "POST", "actions/"+a+"/deploy", "", 200)
		}
		call(t, srv, tok, "PATCH", "modules/"+id, `{"code":"module.exports = 51;"}`, 200)
		before := snapshot(t, srv, tok) + fmt.Sprint(moduleVersionNumbers(t, srv, tok, id))
		got := call(t, srv, tok, "POST", "modules/"+id+"/versions", "", http.StatusPreconditionFailed)
		if want := "Maximum number of module versions reached. Consolidate versions used in actions before creating new ones."; got["message"] != want {
			t.Errorf("message %q, want %q", got["message"], want)
		}
		if after := snapshot(t, srv, tok) + fmt.Sprint(moduleVersionNumbers(t, srv, tok, id)); after != before {
			t.Errorf("the refused publish changed the tenant:\nbefore %s\nafter  %s", before, after)
		}
		// A 51st action version drops the action's oldest, the only one
		// pinning module version 1.
		call(t, srv, tok, "POST", "actions/"+a+"/deploy", "", 200)
		if n := call(t, srv, tok, "POST", "modules/"+id+"/versions", "", 200)["version_number"]; fmt.Sprint(n) != "51" {
			t.Errorf("version published once version 1 is free: %v, want 51", n)
		}
		if got, want := moduleVersionNumbers(t, srv, tok, id), countDown(51, 2); !slices.Equal(got, want) {
			t.Errorf("versions: %v, want %v", got, want)
		}
	})
}

// TestModulesStateLogAndRateLimit: modules live in the state file like
// everything else, module requests are logged, and the rate limit applies
// to them as to every API route.
func TestModulesStateLogAndRateLimit(t *testing.T) {
	state := t.TempDir() + "/tenant.json"
	var log strings.Builder
	srv := tenanttest.Start(t, localtenant.Options{StatePath: state, RequestLog: &log})
	tok := fetchToken(t, srv)
	id, v := publishModule(t, srv, tok, "kept", "module.exports = 1;")
	call(t, srv, tok, "POST", "actions", actionJSON("pins", fmt.Sprintf(`,"modules":[{"module_id":%q,"module_version_id":%q}]`, id, v)), 201)
	if !strings.Contains(log.String(), `"method":"POST","path":"/api/v2/actions/modules","status":201`) {
		t.Errorf("request log lacks the module create:\n%s", log.String())
	}

	again := tenanttest.Start(t, localtenant.Options{StatePath: state, RateLimit: 1})
	tok = fetchToken(t, again)
	m := call(t, again, tok, "GET", "modules/"+id, "", 200)
	if fmt.Sprintf("%v %v", m["latest_version_number"], m["actions_using_module_total"]) != "1 1" {
		t.Errorf("reloaded module: %v, want version 1 used by 1 action", m)
	}
	code, _ := send(t, again, tok, "GET", "/api/v2/actions/modules/"+id+"/versions", "")
	if code != http.StatusTooManyRequests {
		t.Errorf("second request in the second at 1 request/s: %d, want 429", code)
	}
}
