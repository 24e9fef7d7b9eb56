package localtenant_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

func TestTestRunsCode(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is needed to run action code; .ci/run installs it")
	}
	srv := tenanttest.Start(t, localtenant.Options{})
	ctx := t.Context()
	a := newAction("runs")
	a.Code = auth0.String(`exports.onExecutePostLogin = async (event, api) => {
  console.log("hello", event.user.email);
  if (event.user.email.endsWith("@blocked.example")) throw new Error("blocked user");
  api.user.setAppMetadata("key_len", event.secrets.API_KEY.length);
  api.access.deny("nope");
};`)
	if err := srv.API.Action.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	run := func(email string) map[string]any {
		payload := management.ActionTestPayload{"event": map[string]any{"user": map[string]any{"email": email}}}
		body, _ := json.Marshal(map[string]any{"payload": payload})
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/v2/actions/actions/"+a.GetID()+"/test", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+fetchToken(t, srv))
		resp, err := srv.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Payload map[string]any `json:"payload"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		return out.Payload
	}
	ok := run("jo@example.com")
	calls, _ := json.Marshal(ok["api_calls"])
	if want := `[{"args":["key_len",6],"method":"user.setAppMetadata"},{"args":["nope"],"method":"access.deny"}]`; string(calls) != want {
		t.Errorf("api calls = %s, want %s", calls, want)
	}
	if ok["logs"] != "hello jo@example.com" || ok["error"] != nil {
		t.Errorf("logs %q error %v", ok["logs"], ok["error"])
	}
	if strings.Contains(string(calls), "s3cret") {
		t.Error("the secret value came back in the answer")
	}
	failed := run("x@blocked.example")
	e, _ := failed["error"].(map[string]any)
	if e["message"] != "blocked user" || e["name"] != "Error" {
		t.Errorf("error = %v, want the thrown Error", failed["error"])
	}
	ex, err := srv.API.Action.Execution(ctx, failed["execution_id"].(string))
	if err != nil || len(ex.Results) != 1 || ex.Results[0].Error["message"] != "blocked user" {
		t.Errorf("stored execution: %v %+v", err, ex)
	}
}

func TestRateLimit(t *testing.T) {
	clock := tenanttest.NewClock()
	srv := tenanttest.Start(t, localtenant.Options{RateLimit: 3, Now: clock.Now})
	tok := fetchToken(t, srv)
	get := func() *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/v2/actions/actions", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := srv.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i, want := range []string{"2", "1", "0"} {
		r := get()
		if r.StatusCode != 200 || r.Header.Get("X-RateLimit-Remaining") != want || r.Header.Get("X-RateLimit-Limit") != "3" {
			t.Fatalf("request %d: %d remaining %q limit %q", i, r.StatusCode, r.Header.Get("X-RateLimit-Remaining"), r.Header.Get("X-RateLimit-Limit"))
		}
	}
	r := get()
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("4th request: %d Retry-After %q, want 429 and 1", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if reset := r.Header.Get("X-RateLimit-Reset"); reset != "1767323046" {
		t.Errorf("X-RateLimit-Reset = %s, want the second the bucket is full again", reset)
	}
	clock.Advance(334 * time.Millisecond)
	if r := get(); r.StatusCode != 200 {
		t.Errorf("after a third of a second: %d, want 200", r.StatusCode)
	}
}

func TestFaults(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{Faults: 1, Seed: 7})
	api := srv.NewClient(t, management.WithNoRetries()).Action
	seen := map[string]bool{}
	for range 40 {
		_, err := api.List(t.Context())
		var me management.Error
		switch {
		case errors.As(err, &me):
			seen[http.StatusText(me.Status())] = true
		case err != nil:
			seen["dropped"] = true
		default:
			t.Fatal("a request succeeded with every request faulty")
		}
	}
	for _, want := range []string{"Too Many Requests", "Internal Server Error", "Service Unavailable", "dropped"} {
		if !seen[want] {
			t.Errorf("fault %q never injected in 40 requests; saw %v", want, seen)
		}
	}
	// Go's transport resends a GET whose connection dropped, so the log may
	// hold more requests than calls; every one of them must be a fault.
	faults, apiReqs := 0, 0
	for _, r := range srv.Requests() {
		if strings.HasPrefix(r.Path, "/api/") {
			apiReqs++
		}
		if r.Fault != "" {
			faults++
		}
	}
	if faults < 40 || faults != apiReqs {
		t.Errorf("request log holds %d faults in %d API requests, want every one of at least 40", faults, apiReqs)
	}
}

func TestRequestLogAndState(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "tenant.json")
	var log bytes.Buffer
	srv := tenanttest.Start(t, localtenant.Options{StatePath: state, RequestLog: &log})
	a := newAction("kept")
	if err := srv.API.Action.Create(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	var last localtenant.Request
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if last.Method != "POST" || last.Path != "/api/v2/actions/actions" || last.Status != 201 {
		t.Errorf("last log line = %+v, want POST /api/v2/actions/actions 201", last)
	}
	b, _ := os.ReadFile(state)
	if !bytes.Contains(b, []byte(`"kept"`)) {
		t.Fatalf("state file does not hold the action: %s", b)
	}
	again, err := localtenant.New(localtenant.Options{StatePath: state})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(again)
	defer srv2.Close()
	req, _ := http.NewRequest("GET", srv2.URL+"/api/v2/actions/actions/"+a.GetID(), nil)
	req.Header.Set("Authorization", "Bearer any")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("read from the reloaded tenant: %v %v", err, resp.Status)
	}
	resp.Body.Close()
}

// TestBadBodies: malformed JSON, unknown fields, wrong types and missing
// required fields are answered with Auth0's 400 body.
func TestBadBodies(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{})
	tok := fetchToken(t, srv)
	for _, tc := range []struct {
		name, method, path, body, message string
	}{
		{"malformed", "POST", "actions", `{"name":`, "Invalid request payload JSON format"},
		{"unknown field", "POST", "actions", `{"name":"a","supported_triggers":[{"id":"post-login","version":"v3"}],"colour":1}`, "Payload validation error: 'Additional properties not allowed: colour'."},
		{"wrong type", "POST", "actions", `{"name":5,"supported_triggers":[]}`, "Payload validation error: 'Expected type string but found type integer' on property name."},
		{"missing field", "POST", "actions", `{"name":"a"}`, "Payload validation error: 'Missing required property: supported_triggers'."},
		{"unknown trigger", "POST", "actions", `{"name":"a","supported_triggers":[{"id":"post-logout","version":"v1"}]}`, "Invalid trigger: post-logout (v1) is not a supported trigger."},
		{"bad binding ref", "PATCH", "triggers/post-login/bindings", `{"bindings":[{"ref":{"type":"nick","value":"x"}}]}`, `Payload validation error: 'No enum match for: "nick"' on property bindings[0].ref.type.`},
		{"trailing data", "PATCH", "triggers/post-login/bindings", `{"bindings":[]} {}`, "Invalid request payload JSON format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := send(t, srv, tok, tc.method, "/api/v2/actions/"+tc.path, tc.body)
			got := decodeError(body)
			if code != 400 || got.StatusCode != 400 || got.Error != "Bad Request" || got.Message != tc.message || got.ErrorCode != "invalid_body" {
				t.Errorf("got %d %s, want 400 with message %q", code, body, tc.message)
			}
		})
	}
}

func TestUnknownRoutes(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{})
	tok := fetchToken(t, srv)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/api/v2/nothing"},
		{"PUT", "/api/v2/actions/actions"},
		{"DELETE", "/api/v2/actions/triggers"},
	} {
		code, body := send(t, srv, tok, tc.method, tc.path, "")
		if code != 404 || !strings.Contains(string(body), `"statusCode":404`) {
			t.Errorf("%s %s: %d %s, want Auth0's JSON 404", tc.method, tc.path, code, body)
		}
	}
}
