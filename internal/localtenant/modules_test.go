package localtenant_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
)

// apiDocs is where Auth0's Management API reference pages for Actions live;
// every step of the fidelity test names the page its behaviour comes from.
const apiDocs = "https://auth0.com/docs/api/management/v2/actions/"

// step is one request of a documented behaviour and the answer it must get.
// Path and body are relative to /api/v2/actions/ and may name ids saved by
// earlier steps as {name}. want is matched key by key (see matchJSON).
type step struct {
	name   string
	doc    string
	method string
	path   string
	body   string
	status int
	want   string
	save   string // remember the answer's "id" as {save}
}

// Answers that recur in the table.
const (
	emptyModule = `{"id":"<id>","name":"logger","code":"module.exports = {};","dependencies":[],"secrets":[],` +
		`"all_changes_published":false,"actions_using_module_total":0,"created_at":"<time>","updated_at":"<time>"}`
	lodash    = `[{"name":"lodash","version":"4.17.21"}]`
	apiKey    = `[{"name":"API_KEY","updated_at":"<time>"}]`
	postLogin = `[{"id":"post-login","version":"v3"}]`
)

func apiError(status int, message, errorCode string) string {
	text := map[int]string{400: "Bad Request", 404: "Not Found", 409: "Conflict", 412: "Precondition Failed", 403: "Forbidden"}[status]
	b, _ := json.Marshal(map[string]any{"statusCode": status, "error": text, "message": message})
	if errorCode != "" {
		b, _ = json.Marshal(map[string]any{"statusCode": status, "error": text, "message": message, "errorCode": errorCode})
	}
	return string(b)
}

func invalidBody(message string) string {
	return apiError(400, "Payload validation error: "+message, "invalid_body")
}

func moduleVersion(number int, code, deps, secrets string) string {
	return fmt.Sprintf(`{"id":"<id>","module_id":"{module}","version_number":%d,"code":%q,"secrets":%s,"dependencies":%s,"created_at":"<time>"}`,
		number, code, secrets, deps)
}

// fidelitySteps drive one tenant through every Action Modules endpoint, in
// order, with every error the documentation lists for it (but 401, 403 for
// scopes and 429, which every route shares and other tests cover).
var fidelitySteps = []step{
	{name: "list of none", doc: "get-action-modules", method: "GET", path: "modules", status: 200,
		want: `{"modules":[],"total":0}`},
	{name: "list of none, paged", doc: "get-action-modules", method: "GET", path: "modules?page=0&per_page=10", status: 200,
		want: `{"modules":[],"total":0,"page":0,"per_page":10}`},
	{name: "create", doc: "post-action-module", method: "POST", path: "modules",
		body: `{"name":"logger","code":"module.exports = {};","api_version":"1"}`, status: 201, want: emptyModule, save: "module"},
	{name: "create with a taken name", doc: "post-action-module", method: "POST", path: "modules",
		body: `{"name":"logger","code":"x"}`, status: 409, want: apiError(409, "An action module with the same name already exists.", "")},
	{name: "create without code", doc: "post-action-module", method: "POST", path: "modules",
		body: `{"name":"other"}`, status: 400, want: invalidBody("'Missing required property: code'.")},
	{name: "create with an unknown field", doc: "post-action-module", method: "POST", path: "modules",
		body: `{"name":"other","code":"x","runtime":"node22"}`, status: 400, want: invalidBody("'Additional properties not allowed: runtime'.")},
	{name: "create with a secret without value", doc: "post-action-module", method: "POST", path: "modules",
		body: `{"name":"other","code":"x","secrets":[{"name":"K"}]}`, status: 400,
		want: invalidBody("'Missing required property: value' on property secrets[0].")},
	{name: "create with code over 65536", doc: "post-action-module", method: "POST", path: "modules",
		body: `{"name":"other","code":"` + strings.Repeat("x", 65537) + `"}`, status: 400,
		want: invalidBody("'String is too long (65537 chars), maximum 65536' on property code.")},
	{name: "read", doc: "get-action-module", method: "GET", path: "modules/{module}", status: 200, want: emptyModule},
	{name: "read unknown", doc: "get-action-module", method: "GET", path: "modules/nope", status: 404,
		want: apiError(404, "The action module does not exist.", "")},
	{name: "update the draft; secrets are write-only", doc: "patch-action-module", method: "PATCH", path: "modules/{module}",
		body:   `{"code":"module.exports = 1;","dependencies":[{"name":"lodash","version":"4.17.21"}],"secrets":[{"name":"API_KEY","value":"s3cret"}]}`,
		status: 200,
		want: `{"id":"{module}","name":"logger","code":"module.exports = 1;","dependencies":` + lodash + `,"secrets":` + apiKey +
			`,"all_changes_published":false,"actions_using_module_total":0,"created_at":"<time>","updated_at":"<time>"}`},
	{name: "update the name", doc: "patch-action-module", method: "PATCH", path: "modules/{module}",
		body: `{"name":"renamed"}`, status: 400, want: invalidBody("'Additional properties not allowed: name'.")},
	{name: "update unknown", doc: "patch-action-module", method: "PATCH", path: "modules/nope",
		body: `{"code":"x"}`, status: 404, want: apiError(404, "The action module does not exist.", "")},
	{name: "publish version 1", doc: "post-action-module-version", method: "POST", path: "modules/{module}/versions", status: 200,
		want: moduleVersion(1, "module.exports = 1;", lodash, apiKey), save: "v1"},
	{name: "publish with nothing new", doc: "post-action-module-version", method: "POST", path: "modules/{module}/versions", status: 409,
		want: apiError(409, "No draft version is available to publish.", "")},
	{name: "publish unknown", doc: "post-action-module-version", method: "POST", path: "modules/nope/versions", status: 404,
		want: apiError(404, "The action module does not exist.", "")},
	{name: "read after publishing", doc: "get-action-module", method: "GET", path: "modules/{module}", status: 200,
		want: `{"id":"{module}","name":"logger","code":"module.exports = 1;","dependencies":` + lodash + `,"secrets":` + apiKey +
			`,"all_changes_published":true,"actions_using_module_total":0,"latest_version_number":1,"created_at":"<time>","updated_at":"<time>",` +
			`"latest_version":{"id":"{v1}","version_number":1,"code":"module.exports = 1;","dependencies":` + lodash + `,"secrets":` + apiKey + `,"created_at":"<time>"}}`},
	{name: "update again", doc: "patch-action-module", method: "PATCH", path: "modules/{module}", body: `{"code":"module.exports = 2;"}`, status: 200,
		want: `{"id":"{module}","name":"logger","code":"module.exports = 2;","dependencies":` + lodash + `,"secrets":` + apiKey +
			`,"all_changes_published":false,"actions_using_module_total":0,"latest_version_number":1,"created_at":"<time>","updated_at":"<time>",` +
			`"latest_version":{"id":"{v1}","version_number":1,"code":"module.exports = 1;","dependencies":` + lodash + `,"secrets":` + apiKey + `,"created_at":"<time>"}}`},
	{name: "publish version 2", doc: "post-action-module-version", method: "POST", path: "modules/{module}/versions", status: 200,
		want: moduleVersion(2, "module.exports = 2;", lodash, apiKey), save: "v2"},
	{name: "versions, newest first, 20 a page by default", doc: "get-action-module-versions", method: "GET", path: "modules/{module}/versions", status: 200,
		want: `{"versions":[` + moduleVersion(2, "module.exports = 2;", lodash, apiKey) + `,` + moduleVersion(1, "module.exports = 1;", lodash, apiKey) +
			`],"total":2,"page":0,"per_page":20}`},
	{name: "versions, second page of one", doc: "get-action-module-versions", method: "GET", path: "modules/{module}/versions?page=1&per_page=1", status: 200,
		want: `{"versions":[` + moduleVersion(1, "module.exports = 1;", lodash, apiKey) + `],"total":2,"page":1,"per_page":1}`},
	{name: "versions, bad per_page", doc: "get-action-module-versions", method: "GET", path: "modules/{module}/versions?per_page=x", status: 400,
		want: apiError(400, "Query validation error: 'Expected type integer but found type string' on property per_page.", "invalid_query_string")},
	{name: "versions of unknown", doc: "get-action-module-versions", method: "GET", path: "modules/nope/versions", status: 404,
		want: apiError(404, "No module exists with the specified ID.", "")},
	{name: "read version 1", doc: "get-action-module-version", method: "GET", path: "modules/{module}/versions/{v1}", status: 200,
		want: moduleVersion(1, "module.exports = 1;", lodash, apiKey)},
	{name: "read unknown version", doc: "get-action-module-version", method: "GET", path: "modules/{module}/versions/nope", status: 404,
		want: apiError(404, "The module or version does not exist.", "")},
	{name: "rollback the draft to version 1", doc: "post-action-module-rollback", method: "POST", path: "modules/{module}/rollback",
		body: `{"module_version_id":"{v1}"}`, status: 200,
		want: `{"id":"{module}","name":"logger","code":"module.exports = 1;","dependencies":` + lodash + `,"secrets":` + apiKey +
			`,"all_changes_published":false,"actions_using_module_total":0,"latest_version_number":2,"created_at":"<time>","updated_at":"<time>",` +
			`"latest_version":{"id":"{v2}","version_number":2,"code":"module.exports = 2;","dependencies":` + lodash + `,"secrets":` + apiKey + `,"created_at":"<time>"}}`},
	{name: "rollback to the current draft", doc: "post-action-module-rollback", method: "POST", path: "modules/{module}/rollback",
		body: `{"module_version_id":"{v1}"}`, status: 409, want: apiError(409, "The specified version is already the current draft version.", "")},
	{name: "rollback to an unknown version", doc: "post-action-module-rollback", method: "POST", path: "modules/{module}/rollback",
		body: `{"module_version_id":"nope"}`, status: 404, want: apiError(404, "The module or version does not exist.", "")},
	{name: "rollback without a version", doc: "post-action-module-rollback", method: "POST", path: "modules/{module}/rollback",
		body: `{}`, status: 400, want: invalidBody("'Missing required property: module_version_id'.")},
	{name: "list, paged", doc: "get-action-modules", method: "GET", path: "modules?per_page=50", status: 200,
		want: `{"modules":[{"id":"{module}","name":"logger","code":"module.exports = 1;","dependencies":` + lodash + `,"secrets":` + apiKey +
			`,"all_changes_published":false,"actions_using_module_total":0,"latest_version_number":2,"created_at":"<time>","updated_at":"<time>"}],` +
			`"total":1,"page":0,"per_page":50}`},
	{name: "list, per_page over 100", doc: "get-action-modules", method: "GET", path: "modules?per_page=101", status: 400,
		want: apiError(400, "Query validation error: 'Value out of range' on property per_page.", "invalid_query_string")},
	{name: "an action pins version 1 by id; the tenant names it", doc: "post-action", method: "POST", path: "actions",
		body: `{"name":"uses-logger","supported_triggers":` + postLogin + `,"code":"const logger = require('actions:logger');",` +
			`"modules":[{"module_id":"{module}","module_version_id":"{v1}"}],"deploy":true}`, status: 201,
		want: `{"id":"<id>","name":"uses-logger","supported_triggers":` + postLogin + `,"created_at":"<time>","updated_at":"<time>",` +
			`"code":"const logger = require('actions:logger');","dependencies":[],"runtime":"node22","status":"built","secrets":[],` +
			`"modules":[{"module_id":"{module}","module_name":"logger","module_version_id":"{v1}","module_version_number":1}],` +
			`"current_version":"<any>","deployed_version":"<any>","all_changes_deployed":true}`, save: "action"},
	{name: "the actions using it", doc: "get-action-module-actions", method: "GET", path: "modules/{module}/actions", status: 200,
		want: `{"actions":[{"action_id":"{action}","action_name":"uses-logger","module_version_id":"{v1}","module_version_number":1,` +
			`"supported_triggers":` + postLogin + `}],"total":1,"per_page":50}`},
	{name: "the actions using unknown", doc: "get-action-module-actions", method: "GET", path: "modules/nope/actions", status: 404,
		want: apiError(404, "No module exists with the specified ID.", "")},
	{name: "delete while in use", doc: "delete-action-module", method: "DELETE", path: "modules/{module}", status: 412,
		want: apiError(412, "The Actions Module cannot be deleted because it is in use by one or more actions.", "")},
	{name: "the action's draft stops using it", doc: "patch-action", method: "PATCH", path: "actions/{action}",
		body: `{"modules":[]}`, status: 200, want: `"<any>"`},
	{name: "delete while the deployed version uses it", doc: "delete-action-module", method: "DELETE", path: "modules/{module}", status: 412,
		want: apiError(412, "The Actions Module cannot be deleted because it is in use by one or more actions.", "")},
	{name: "deploy the action without it", doc: "post-deploy-draft-version", method: "POST", path: "actions/{action}/deploy", status: 200, want: `"<any>"`},
	// An earlier version of the action still pins the module, and does not
	// keep it: "A module that is in use by a deployed action version cannot
	// be deleted" (auth0-cli's actions modules delete).
	{name: "delete once no deployed version uses it", doc: "delete-action-module", method: "DELETE", path: "modules/{module}", status: 204},
	{name: "delete the action", doc: "delete-action", method: "DELETE", path: "actions/{action}", status: 204},
	{name: "delete unknown", doc: "delete-action-module", method: "DELETE", path: "modules/{module}", status: 404,
		want: apiError(404, "The Actions Module does not exist.", "")},
}

// TestModuleFidelity walks fidelitySteps over plain HTTP(S) against a local
// tenant and checks each answer's status and body key by key.
func TestModuleFidelity(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{})
	tok := fetchToken(t, srv)
	ids := map[string]string{}
	for _, s := range fidelitySteps {
		t.Run(s.name, func(t *testing.T) {
			code, body := send(t, srv, tok, s.method, "/api/v2/actions/"+fill(s.path, ids), fill(s.body, ids))
			if code != s.status {
				t.Fatalf("%s %s (%s%s): status %d, want %d: %s", s.method, s.path, apiDocs, s.doc, code, s.status, body)
			}
			if s.want == "" {
				if len(body) != 0 {
					t.Errorf("body %s, want none", body)
				}
				return
			}
			got := decodeJSON(t, string(body))
			for _, d := range matchJSON("$", decodeJSON(t, fill(s.want, ids)), got) {
				t.Errorf("%s (%s%s): %s\n%s", s.name, apiDocs, s.doc, d, body)
			}
			if s.save != "" {
				ids[s.save], _ = got.(map[string]any)["id"].(string)
			}
		})
	}
}

func fill(s string, ids map[string]string) string {
	for k, v := range ids {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

var (
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`)
)

// matchJSON lists where got differs from want: an object must have exactly
// want's keys, an array as many elements, and every other value must be
// equal, but for the strings "<id>" (any UUID), "<time>" (any RFC 3339 UTC
// time) and "<any>" (any value at all).
func matchJSON(path string, want, got any) []string {
	if w, ok := want.(string); ok {
		switch w {
		case "<any>":
			return nil
		case "<id>", "<time>":
			g, _ := got.(string)
			if re := map[string]*regexp.Regexp{"<id>": uuidRE, "<time>": timeRE}[w]; !re.MatchString(g) {
				return []string{fmt.Sprintf("%s: %v, want %s", path, got, w)}
			}
			return nil
		}
	}
	switch w := want.(type) {
	case map[string]any:
		return matchObject(path, w, got)
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: %v, want %d elements", path, got, len(w))}
		}
		var out []string
		for i := range w {
			out = append(out, matchJSON(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	}
	if fmt.Sprint(want) != fmt.Sprint(got) || jsonType(want) != jsonType(got) {
		return []string{fmt.Sprintf("%s: %v, want %v", path, got, want)}
	}
	return nil
}

func matchObject(path string, want map[string]any, got any) []string {
	g, ok := got.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: %v, want an object", path, got)}
	}
	var out []string
	for k := range g {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("%s.%s: unexpected key", path, k))
		}
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := g[k]; !ok {
			out = append(out, fmt.Sprintf("%s.%s: missing", path, k))
			continue
		}
		out = append(out, matchJSON(path+"."+k, want[k], g[k])...)
	}
	slices.Sort(out)
	return out
}

// TestMatchJSON makes sure the matcher the fidelity test rests on can fail.
func TestMatchJSON(t *testing.T) {
	for _, tc := range []struct {
		name, want, got string
		diffs           []string
	}{
		{"same", `{"a":1,"b":["x"],"id":"<id>","t":"<time>","x":"<any>"}`,
			`{"a":1,"b":["x"],"id":"910b1053-577f-4d81-a8c8-020e7319a38a","t":"2026-01-02T03:04:05.5Z","x":[1]}`, nil},
		{"extra key", `{"a":1}`, `{"a":1,"b":2}`, []string{"$.b: unexpected key"}},
		{"missing key", `{"a":1,"b":2}`, `{"a":1}`, []string{"$.b: missing"}},
		{"value", `{"a":"x"}`, `{"a":"y"}`, []string{"$.a: y, want x"}},
		{"type", `{"a":"1"}`, `{"a":1}`, []string{"$.a: 1, want 1"}},
		{"not an id", `{"a":"<id>"}`, `{"a":"abc"}`, []string{"$.a: abc, want <id>"}},
		{"not a time", `{"a":"<time>"}`, `{"a":"yesterday"}`, []string{"$.a: yesterday, want <time>"}},
		{"length", `[1,2]`, `[1]`, []string{"$: [1], want 2 elements"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := matchJSON("$", decodeJSON(t, tc.want), decodeJSON(t, tc.got))
			if !slices.Equal(got, tc.diffs) {
				t.Errorf("diffs = %q, want %q", got, tc.diffs)
			}
		})
	}
}
