package sync_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/actiontest"
	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/remote"
	"github.com/actionsync/actionsync/internal/sync"
)

// gateKey is ok-login's secret value; no output may show it.
const gateKey = "gate-key-4471"

// gatedFiles is a repo with actions of both trigger kinds the examples
// use, each with cases: for post-login one that passes (and logs its key),
// one whose case fails, one that runs past the time limit; for
// credentials-exchange one that passes (a throw expected among its cases)
// and one that throws where its case expects none.
func gatedFiles() map[string]string {
	return map[string]string{
		"actions/ok-login/action.yaml": "trigger: {id: post-login, version: v3}\nsecrets:\n  - {name: API_KEY, from_env: OK_LOGIN_KEY}\n",
		"actions/ok-login/index.js": `exports.onExecutePostLogin = async (event, api) => {
  console.log('using key', event.secrets.API_KEY);
  api.idToken.setCustomClaim('https://example.com/ok', event.secrets.API_KEY ? 'keyed' : 'bare');
};
`,
		"actions/ok-login/tests/ok.yaml": `- name: claims it is keyed
  expect:
    - api.idToken.setCustomClaim: ["https://example.com/ok", keyed]
- name: claims it is bare without its key
  secrets: {API_KEY: ""}
  expect:
    - api.idToken.setCustomClaim: ["https://example.com/ok", bare]
`,
		"actions/bad-login/action.yaml": "trigger: {id: post-login, version: v3}\n",
		"actions/bad-login/index.js":    loginClaim("bad", "a"),
		"actions/bad-login/tests/bad.yaml": `- name: claims b
  expect:
    - api.idToken.setCustomClaim: ["https://example.com/bad", b]
`,
		"actions/spin-login/action.yaml": "trigger: {id: post-login, version: v3}\n",
		"actions/spin-login/index.js": `exports.onExecutePostLogin = async (event, api) => {
  console.log('spinning');
  for (;;) {}
};
`,
		"actions/spin-login/tests/spin.yaml": "- name: returns\n  expect: []\n",
		"actions/ok-m2m/action.yaml":         "trigger: {id: credentials-exchange, version: v2}\n",
		"actions/ok-m2m/index.js": `exports.onExecuteCredentialsExchange = async (event, api) => {
  api.accessToken.setCustomClaim('https://example.com/tier', event.client.metadata.tier || 'standard');
};
`,
		"actions/ok-m2m/tests/m2m.yaml": `- name: tags the tier
  event: {client: {metadata: {tier: gold}}}
  expect:
    - api.accessToken.setCustomClaim: ["https://example.com/tier", gold]
- name: needs the client
  event: {client: null}
  throws: "reading 'metadata'"
`,
		"actions/throw-m2m/action.yaml": "trigger: {id: credentials-exchange, version: v2}\n",
		"actions/throw-m2m/index.js": `exports.onExecuteCredentialsExchange = async (event, api) => {
  throw new Error('misconfigured');
};
`,
		"actions/throw-m2m/tests/throw.yaml": "- name: returns\n  expect: []\n",
		"triggers.yaml":                      "post-login: [ok-login, bad-login, spin-login]\ncredentials-exchange: [ok-m2m, throw-m2m]\n",
		"triggers/post-login.tests.yaml": `- name: ok, then bad, claim in order
  expect:
    - api.idToken.setCustomClaim: ["https://example.com/ok", keyed]
    - api.idToken.setCustomClaim: ["https://example.com/bad", b]
`,
	}
}

func loginClaim(name, value string) string {
	return "exports.onExecutePostLogin = async (event, api) => {\n  api.idToken.setCustomClaim('https://example.com/" + name + "', '" + value + "');\n};\n"
}

// gatedFixture is a fixture whose tenant runs node, with a short time
// limit, and whose engines run under a remote.Gate logging to log.
func gatedFixture(t *testing.T, files map[string]string) (*fixture, *bytes.Buffer, sync.Options) {
	t.Helper()
	f := newFixture(t, files, localtenant.Options{Node: "node", TestTimeout: 2 * time.Second})
	f.env["OK_LOGIN_KEY"] = gateKey
	var log bytes.Buffer
	opts := sync.Options{Gate: &remote.Gate{API: f.api.Action}, Logger: slog.New(slog.NewJSONHandler(&log, nil))}
	return f, &log, opts
}

// deploys counts the deploys of each action in the request log, by name.
func deploys(t *testing.T, f *fixture) map[string]int {
	t.Helper()
	names := map[string]string{}
	l, err := f.api.Action.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range l.Actions {
		names[a.GetID()] = a.GetName()
	}
	out := map[string]int{}
	for _, r := range f.srv.Requests() {
		id, ok := strings.CutSuffix(strings.TrimPrefix(r.Path, "/api/v2/actions/actions/"), "/deploy")
		if r.Method == http.MethodPost && ok && r.Status == http.StatusOK {
			out[names[id]]++
		}
	}
	return out
}

// statuses are the report's results, "subject/name: status".
func statuses(rep *actiontest.Report) []string {
	var out []string
	for _, res := range rep.Results {
		out = append(out, res.Case.Subject()+"/"+res.Case.Name+": "+string(res.Status))
	}
	return out
}

// TestTestedDeploy: a failing case, a throw and a time-out each hold back
// exactly their action's deploy, for both trigger kinds; the others are
// deployed and bound; the flow whose actions are held back is skipped, and
// so is a case that sets secrets. Once the code is fixed, the next run
// deploys and binds the rest, after the flow's case passes. No output
// shows a secret value.
func TestTestedDeploy(t *testing.T) {
	f, log, opts := gatedFixture(t, gatedFiles())
	res, _, err := f.reconcile(opts)
	if got, want := deploys(t, f), map[string]int{"ok-login": 1, "ok-m2m": 1}; !maps.Equal(got, want) {
		t.Errorf("deploys %v, want %v", got, want)
	}
	held := map[string]bool{}
	for _, s := range res.Failed() {
		held[s.Subject] = errors.Is(s.Err, sync.ErrTestsFailed)
	}
	if want := map[string]bool{"bad-login": true, "spin-login": true, "throw-m2m": true}; !maps.Equal(held, want) || !errors.Is(err, sync.ErrTestsFailed) {
		t.Errorf("held back %v (error %v), want %v", held, err, want)
	}
	if got := tenanttest.Order(t, f.api, "post-login"); !slices.Equal(got, []string{"ok-login|ok-login"}) {
		t.Errorf("post-login bound %v", got)
	}
	if got := tenanttest.Order(t, f.api, "credentials-exchange"); !slices.Equal(got, []string{"ok-m2m|ok-m2m"}) {
		t.Errorf("credentials-exchange bound %v", got)
	}
	wantStatuses := []string{
		"bad-login/claims b: fail", "ok-login/claims it is keyed: pass", "ok-login/claims it is bare without its key: skip",
		"ok-m2m/tags the tier: pass", "ok-m2m/needs the client: pass", "spin-login/returns: fail", "throw-m2m/returns: fail",
		"flow post-login/ok, then bad, claim in order: skip",
	}
	if got := statuses(res.Tests); !slices.Equal(got, wantStatuses) {
		t.Errorf("cases:\n got %q\nwant %q", got, wantStatuses)
	}
	for _, want := range []string{`"claims b": call 1: got api.idToken.setCustomClaim("https://example.com/bad", "a")`, "Script execution time exceeded", "threw Error: misconfigured"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	noSecret(t, res, err, log)

	f.repo.write(map[string]string{"actions/bad-login/index.js": loginClaim("bad", "b"),
		"actions/spin-login/index.js": "exports.onExecutePostLogin = async () => {};\n",
		"actions/throw-m2m/index.js":  "exports.onExecuteCredentialsExchange = async () => {};\n"})
	f.repo.commit("fix them")
	f.srv.ResetRequests()
	res, calls, err := f.reconcile(opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := deploys(t, f), map[string]int{"bad-login": 1, "spin-login": 1, "throw-m2m": 1}; !maps.Equal(got, want) {
		t.Errorf("after the fix: deploys %v, want %v", got, want)
	}
	if !slices.Contains(calls, bindLogin) || !slices.Contains(calls, bindM2M) {
		t.Errorf("after the fix: no binding written: %q", calls)
	}
	if flow := res.Tests.Results[len(res.Tests.Results)-1]; !flow.Case.Flow() || flow.Status != actiontest.StatusPass {
		t.Errorf("after the fix, the flow: %s", statuses(res.Tests))
	}
	noSecret(t, res, err, log)
}

func noSecret(t *testing.T, res *sync.Result, err error, log *bytes.Buffer) {
	t.Helper()
	out, _ := json.Marshal(res)
	if err != nil {
		out = append(out, err.Error()...)
	}
	out = append(out, log.Bytes()...)
	if bytes.Contains(out, []byte(gateKey)) {
		t.Errorf("a secret value is in the result, the error or the log:\n%s", out)
	}
	if !bytes.Contains(out, []byte("using key ***")) {
		t.Errorf("the logs of ok-login are not in the result, masked")
	}
}

// TestTestedFlow: a reorder whose flow case fails leaves the bindings as
// they are (no write); a change to an action that passes its own cases but
// not its flow's is deployed, and the run fails naming the flow.
func TestTestedFlow(t *testing.T) {
	files := gatedFiles()
	for _, name := range []string{"spin-login", "throw-m2m"} {
		for p := range files {
			if strings.HasPrefix(p, "actions/"+name+"/") {
				delete(files, p)
			}
		}
	}
	files["actions/bad-login/index.js"] = loginClaim("bad", "b")
	files["triggers.yaml"] = "post-login: [ok-login, bad-login]\ncredentials-exchange: [ok-m2m]\n"
	f, _, opts := gatedFixture(t, files)
	if _, _, err := f.reconcile(opts); err != nil {
		t.Fatal(err)
	}

	f.repo.write(map[string]string{"triggers.yaml": "post-login: [bad-login, ok-login]\ncredentials-exchange: [ok-m2m]\n"})
	f.repo.commit("reorder")
	res, calls, err := f.reconcile(opts)
	if !errors.Is(err, sync.ErrTestsFailed) || len(res.Failed()) != 1 || res.Failed()[0].Kind != diff.Bind {
		t.Fatalf("the reorder: %v", err)
	}
	if slices.Contains(calls, bindLogin) {
		t.Error("bindings written although the flow's case failed")
	}
	if got := tenanttest.Order(t, f.api, "post-login"); !slices.Equal(got, []string{"ok-login|ok-login", "bad-login|bad-login"}) {
		t.Errorf("post-login bound %v", got)
	}

	f.repo.write(map[string]string{"triggers.yaml": "post-login: [ok-login, bad-login]\ncredentials-exchange: [ok-m2m]\n",
		"actions/bad-login/index.js":       loginClaim("bad", "c"),
		"actions/bad-login/tests/bad.yaml": "- name: claims c\n  expect:\n    - api.idToken.setCustomClaim: [\"https://example.com/bad\", c]\n"})
	f.repo.commit("change bad-login, not its flow case")
	f.srv.ResetRequests()
	res, _, err = f.reconcile(opts)
	if got := deploys(t, f); !maps.Equal(got, map[string]int{"bad-login": 1}) {
		t.Errorf("deploys %v, want bad-login's", got)
	}
	failed := res.Failed()
	if len(failed) != 1 || failed[0].Kind != sync.FlowTest || failed[0].Subject != "post-login" || !errors.Is(err, sync.ErrTestsFailed) {
		t.Errorf("failed steps %+v, error %v; want the post-login flow's", failed, err)
	}
}

// TestTestedRollback: under a Gate a rollback is written as an update, so
// its draft is tested, then deployed; without one it deploys the version.
func TestTestedRollback(t *testing.T) {
	files := map[string]string{
		"actions/ok-m2m/action.yaml":    gatedFiles()["actions/ok-m2m/action.yaml"],
		"actions/ok-m2m/index.js":       gatedFiles()["actions/ok-m2m/index.js"],
		"actions/ok-m2m/tests/m2m.yaml": gatedFiles()["actions/ok-m2m/tests/m2m.yaml"],
		"triggers.yaml":                 "credentials-exchange: [ok-m2m]\n",
	}
	f, _, opts := gatedFixture(t, files)
	if _, _, err := f.reconcile(opts); err != nil {
		t.Fatal(err)
	}
	first := f.repo.commit("nothing")
	f.repo.write(map[string]string{"actions/ok-m2m/index.js": strings.Replace(files["actions/ok-m2m/index.js"], "'standard'", "'basic'", 1)})
	f.repo.commit("basic")
	if _, _, err := f.reconcile(opts); err != nil {
		t.Fatal(err)
	}
	f.repo.revertTo(first, "back")
	res, calls, err := f.reconcile(opts)
	if err != nil || res.Plan.Steps[0].Kind != diff.Rollback {
		t.Fatalf("the rollback: %v, %+v", err, res.Plan.Steps)
	}
	test := "POST /api/v2/actions/actions/{id}/test"
	assertCalls(t, calls, []string{updateCall, deployCall, test, test})
}
