package localtenant_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/localtenant"
)

// FuzzBodies sends arbitrary bodies to every write endpoint: the answer is
// never a 500 or a panic, and every 400 carries Auth0's error body.
func FuzzBodies(f *testing.F) {
	for _, seed := range []string{
		`{"name":"a","supported_triggers":[{"id":"post-login","version":"v3"}],"code":"x"}`,
		`{"name":"a","supported_triggers":[{"id":"post-login","version":"v3"}],"dependencies":[{"name":"lodash","version":"1"}],"secrets":[{"name":"K","value":"v"}],"runtime":"node22","deploy":true}`,
		`{"bindings":[{"ref":{"type":"action_name","value":"a"},"display_name":"A"}]}`,
		`{"update_draft":true}`, `{"payload":{"event":{}}}`, `null`, ``, `[]`, `{"name":null}`, `{"name":1e400}`,
		`{"supported_triggers":[{"id":"post-login","version":"v3"}],"runtime":"node8"}`,
		`{"name":"m","code":"x","publish":true,"secrets":[{"name":"K","value":"v"}],"dependencies":[{"name":"lodash","version":"1"}]}`,
		`{"module_version_id":"x"}`, `{"modules":[{"module_name":"seed","module_version_number":1}]}`,
	} {
		f.Add(seed)
	}
	tenant, err := localtenant.New(localtenant.Options{Node: "-"})
	if err != nil {
		f.Fatal(err)
	}
	// One action that exists, deployed, so the id routes reach their bodies.
	seed := httptest.NewRecorder()
	tenant.ServeHTTP(seed, authed("POST", "/api/v2/actions/actions", `{"name":"seed","supported_triggers":[{"id":"post-login","version":"v3"}],"deploy":true}`))
	var a struct{ ID string }
	json.Unmarshal(seed.Body.Bytes(), &a)
	// And one module, published, so its routes reach their bodies too.
	seed = httptest.NewRecorder()
	tenant.ServeHTTP(seed, authed("POST", "/api/v2/actions/modules", `{"name":"seed","code":"module.exports = 1;","publish":true}`))
	var m struct{ ID string }
	json.Unmarshal(seed.Body.Bytes(), &m)
	targets := []struct{ method, path string }{
		{"POST", "/api/v2/actions/actions"},
		{"PATCH", "/api/v2/actions/actions/" + a.ID},
		{"POST", "/api/v2/actions/actions/" + a.ID + "/deploy"},
		{"POST", "/api/v2/actions/actions/" + a.ID + "/test"},
		{"PATCH", "/api/v2/actions/triggers/post-login/bindings"},
		{"POST", "/api/v2/actions/modules"},
		{"PATCH", "/api/v2/actions/modules/" + m.ID},
		{"POST", "/api/v2/actions/modules/" + m.ID + "/rollback"},
		{"POST", "/api/v2/actions/modules/" + m.ID + "/versions"},
		{"POST", "/oauth/token"},
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, tg := range targets {
			w := httptest.NewRecorder()
			tenant.ServeHTTP(w, authed(tg.method, tg.path, body))
			if w.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", tg.method, tg.path, body, w.Code, w.Body)
			}
			if w.Code == http.StatusBadRequest && tg.path != "/oauth/token" {
				var e struct {
					StatusCode int    `json:"statusCode"`
					Error      string `json:"error"`
					Message    string `json:"message"`
				}
				if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.StatusCode != 400 || e.Error != "Bad Request" || e.Message == "" {
					t.Fatalf("%s %s %q: 400 without Auth0's body: %s", tg.method, tg.path, body, w.Body)
				}
			}
		}
	})
}

func authed(method, path, body string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer fuzz")
	r.Header.Set("Content-Type", "application/json")
	return r
}
