package remote_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/actiontest"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/node"
	"github.com/actionsync/actionsync/internal/remote"
	"github.com/actionsync/actionsync/internal/source"
	"github.com/actionsync/actionsync/internal/sync"
	"github.com/auth0/go-auth0/management"
	"golang.org/x/oauth2"
)

// limit is the time limit of a run, on the tenant and locally alike: short,
// for the cases that spin, long enough for the others on a loaded machine.
const limit = 3 * time.Second

// corpus is actiontest's own corpus of cases (testdata/run): for each
// trigger kind the examples use, passing and failing cases, throws expected
// and not, a time-out, flows, a dependency, and an action that leaks its
// secrets everywhere it can.
const corpus = "../actiontest/testdata/run"

// secretValues are the corpus's secret values; no output may show them.
var secretValues = map[string]string{
	"LEAKY_API_KEY": "sk_live_7d6c5b4a39",
	"LEAKY_OTHER":   "other-secret-55aa",
}

var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "remote-cache-*")
	if err != nil {
		panic(err)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tenant is a local tenant running real node, over HTTPS, with the real
// go-auth0 client.
type tenant struct {
	lt  *localtenant.Tenant
	api *management.Management
}

// startTenant serves a local tenant whose test endpoint runs node with the
// time limit above, through wrap when set.
func startTenant(tb testing.TB, wrap func(http.Handler) http.Handler) *tenant {
	tb.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		tb.Fatal("node is needed to run action code; .ci/run installs it")
	}
	lt, err := localtenant.New(localtenant.Options{BuildDelay: 20 * time.Millisecond, TestTimeout: limit,
		NPMCache: cacheDir, ClientID: "cid", ClientSecret: "csec"})
	if err != nil {
		tb.Fatal(err)
	}
	var h http.Handler = lt
	if wrap != nil {
		h = wrap(lt)
	}
	srv := httptest.NewTLSServer(h)
	tb.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client())
	api, err := management.New(u.Host, management.WithClient(srv.Client()),
		management.WithClientCredentials(ctx, "cid", "csec"), management.WithNoRetries())
	if err != nil {
		tb.Fatal(err)
	}
	return &tenant{lt: lt, api: api}
}

// answers passes each answer of the test endpoint through edit, as
// another tenant would answer.
func answers(edit func(payload map[string]any)) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler { return editAnswers(h, edit) }
}

func editAnswers(h http.Handler, edit func(payload map[string]any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/test") {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var body struct {
			Payload map[string]any `json:"payload"`
		}
		if rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &body) == nil {
			edit(body.Payload)
			b, _ := json.Marshal(body)
			rec.Body = bytes.NewBuffer(b)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

// unmask puts a secret value back where the answer shows the mask: the
// local tenant masks a test's output with the runner it shares with
// actionsync, and Auth0 is not known to, so the Runner must mask it
// itself.
var unmask = answers(func(payload map[string]any) {
	b, _ := json.Marshal(payload)
	b = bytes.ReplaceAll(b, []byte(node.Mask), []byte(secretValues["LEAKY_API_KEY"]))
	clear(payload)
	json.Unmarshal(b, &payload)
})

// drafts loads dir and brings its actions' drafts to it on the tenant, as
// actionsync test --remote does, and returns the cases and the ids.
func (tn *tenant) drafts(tb testing.TB, dir string) (*actiontest.Suite, map[string]string) {
	tb.Helper()
	work := tb.TempDir()
	if err := os.CopyFS(work, os.DirFS(dir)); err != nil {
		tb.Fatal(err)
	}
	eng := sync.New(tn.api, source.Worktree(work), sync.Options{
		SecretKey: []byte("remote-test-key!"), Poll: 5 * time.Millisecond, Gate: &remote.Gate{API: tn.api.Action},
		Manifest: manifest.Options{Getenv: func(k string) string { return secretValues[k] }},
	})
	p, err := eng.Plan(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	ids, failed := eng.Drafts(tb.Context(), p)
	if len(failed) > 0 {
		tb.Fatalf("drafts: %v", failed)
	}
	return p.Cases(), ids
}

// localRun runs the corpus under node on this machine.
func localRun(tb testing.TB, suite *actiontest.Suite) *actiontest.Report {
	tb.Helper()
	return suite.Run(tb.Context(), &node.Runner{Cache: cacheDir, Timeout: limit}, actiontest.RunOptions{})
}

// frames are the places in a reason's stack: the local runner names the
// action's file, the tenant runs action.js.
var frames = regexp.MustCompile(`\(at [^)]*:(\d+):(\d+)\)`)

// TestSameJudgementOnTheTenant runs actiontest's corpus on the tenant
// through the test endpoint and locally, and finds every case judged the
// same, for the same reason (the frames of a stack aside: the tenant runs
// the code as action.js), but the one that sets secrets, which the tenant
// cannot take and which is skipped. Running the cases writes nothing.
func TestSameJudgementOnTheTenant(t *testing.T) {
	tn := startTenant(t, unmask)
	suite, ids := tn.drafts(t, corpus)
	tn.lt.ResetRequests()
	got := suite.Run(t.Context(), &remote.Runner{API: tn.api.Action, ID: remote.IDs(ids)}, actiontest.RunOptions{})
	want := localRun(t, suite)
	for i, res := range got.Results {
		local := want.Results[i]
		t.Run(res.Case.Subject()+"/"+res.Case.Name, func(t *testing.T) {
			wantStatus, wantReason := local.Status, frames.ReplaceAllString(local.Reason, "(at action.js:$1:$2)")
			if len(res.Case.Secrets) > 0 {
				wantStatus, wantReason = actiontest.StatusSkip, (&remote.Runner{}).Skip(res.Case)
			}
			if res.Status != wantStatus || res.Reason != wantReason {
				t.Errorf("on the tenant: %s %q\nlocally:      %s %q", res.Status, res.Reason, wantStatus, wantReason)
			}
			if res.TimedOut != local.TimedOut || res.DeniedBy != local.DeniedBy {
				t.Errorf("on the tenant: timed out %v, denied by %q; locally %v, %q", res.TimedOut, res.DeniedBy, local.TimedOut, local.DeniedBy)
			}
		})
	}
	if got.Count(actiontest.StatusSkip) != 1 || got.Count(actiontest.StatusPass) != want.Count(actiontest.StatusPass) {
		t.Errorf("on the tenant: %s; locally: %s", got.Summary(), want.Summary())
	}
	for subject, wantRuns := range map[string]int{"a seen user gets both claims, in order": 2, "a deny stops the flow": 1, "denies a blocked user": 1} {
		res := find(t, got, subject)
		if len(res.Executions) != wantRuns {
			t.Errorf("%s: executions %v, want %d", subject, res.Executions, wantRuns)
		}
		for _, id := range res.Executions {
			if _, err := tn.api.Action.Execution(t.Context(), id); err != nil {
				t.Errorf("%s: read execution %s: %v", subject, id, err)
			}
		}
	}
	for _, r := range tn.lt.Requests() {
		if r.Method != http.MethodGet && !strings.HasSuffix(r.Path, "/test") && r.Path != "/oauth/token" {
			t.Errorf("running cases wrote %s %s", r.Method, r.Path)
		}
	}
}

func find(tb testing.TB, rep *actiontest.Report, name string) actiontest.Result {
	tb.Helper()
	for _, res := range rep.Results {
		if res.Case.Name == name {
			return res
		}
	}
	tb.Fatalf("no case %q", name)
	return actiontest.Result{}
}

// TestSecretsMasked: the tenant's answers show the leaky action's key (the
// test checks they do), and no rendering of the report, nor any field of
// it, does.
func TestSecretsMasked(t *testing.T) {
	tn := startTenant(t, unmask)
	suite, ids := tn.drafts(t, corpus)
	payload := management.ActionTestPayload{"event": map[string]any{"request": map[string]any{"query": map[string]any{}}}}
	if err := tn.api.Action.Test(t.Context(), ids["leaky"], &payload); err != nil {
		t.Fatal(err)
	}
	if raw, _ := json.Marshal(payload); !bytes.Contains(raw, []byte(secretValues["LEAKY_API_KEY"])) {
		t.Fatalf("the tenant's answer does not show the key, so this test proves nothing: %s", raw)
	}
	leaky, _ := suite.Select("leaky")
	rep := leaky.Filter(func(c *actiontest.Case) bool { return c.Action == "leaky" }).
		Run(t.Context(), &remote.Runner{API: tn.api.Action, ID: remote.IDs(ids)}, actiontest.RunOptions{})
	if rep.Count(actiontest.StatusPass) != 2 {
		t.Errorf("leaky on the tenant: %s", rep.Summary())
	}
	var out bytes.Buffer
	rep.Text(&out)
	rep.Markdown(&out, 0)
	rep.JSON(&out)
	for name, v := range secretValues {
		if bytes.Contains(out.Bytes(), []byte(v)) {
			t.Errorf("the report shows $%s:\n%s", name, out.String())
		}
	}
}

// TestAnswerShapes: the runner reads what a tenant may answer beyond the
// local tenant's shape. Without api_calls (Auth0's recorded answers carry
// only error and stats) no case can be judged, and the case says why; an
// answer without its error is completed from the execution; logs may be a
// list.
func TestAnswerShapes(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(map[string]any)
		caseName   string
		wantStatus actiontest.Status
		wantReason string
	}{
		{"recorded shape", func(p map[string]any) { delete(p, "api_calls"); delete(p, "logs"); delete(p, "execution_id") },
			"stamps the audience", actiontest.StatusError, "run m2m on the tenant: the test endpoint's answer has no api_calls"},
		{"error only in the execution", func(p map[string]any) { delete(p, "error") },
			"throws for a broken client", actiontest.StatusPass, ""},
		{"logs as a list", func(p map[string]any) {
			if s, _ := p["logs"].(string); s != "" {
				p["logs"] = strings.Split(s, "\n")
			}
		}, "runs past the time limit", actiontest.StatusFail, "Script execution time exceeded: timed out after 3s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := startTenant(t, answers(tc.edit))
			suite, ids := tn.drafts(t, corpus)
			one := suite.Filter(func(c *actiontest.Case) bool { return c.Name == tc.caseName })
			rep := one.Run(t.Context(), &remote.Runner{API: tn.api.Action, ID: remote.IDs(ids)}, actiontest.RunOptions{})
			res := rep.Results[0]
			if res.Status != tc.wantStatus || res.Reason != tc.wantReason {
				t.Errorf("got %s %q, want %s %q", res.Status, res.Reason, tc.wantStatus, tc.wantReason)
			}
			if tc.name == "logs as a list" && (len(res.Logs) != 1 || res.Logs[0].Text != "spinning" || res.Logs[0].Action != "slow") {
				t.Errorf("logs %+v", res.Logs)
			}
		})
	}
}

// TestNoDraft: an action without a draft to test is an error of its
// cases, and says which.
func TestNoDraft(t *testing.T) {
	tn := startTenant(t, nil)
	suite, ids := tn.drafts(t, corpus)
	delete(ids, "m2m")
	one := suite.Filter(func(c *actiontest.Case) bool {
		return c.Action == "m2m" || c.Flow() && c.Trigger == "credentials-exchange"
	})
	rep := one.Run(t.Context(), &remote.Runner{API: tn.api.Action, ID: remote.IDs(ids)}, actiontest.RunOptions{})
	for _, res := range rep.Results {
		if res.Status != actiontest.StatusError || !errors.Is(res.Err, remote.ErrNoDraft) || !strings.Contains(res.Reason, "m2m") {
			t.Errorf("%s: %s %q", res.Case.Name, res.Status, res.Reason)
		}
	}
}

// TestGateBounds: a Gate runs at most Parallel tests at once, over all its
// calls at once, and more than one when it may.
func TestGateBounds(t *testing.T) {
	var now, most atomic.Int32
	count := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/test") {
				n := now.Add(1)
				defer now.Add(-1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
			}
			h.ServeHTTP(w, r)
		})
	}
	tn := startTenant(t, count)
	suite, ids := tn.drafts(t, corpus)
	quick := suite.Filter(func(c *actiontest.Case) bool { return c.Action == "gate" || c.Action == "m2m" || c.Action == "claims" })
	g := &remote.Gate{API: tn.api.Action, Parallel: 2}
	var wg gosync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if rep := g.Test(t.Context(), quick, ids); rep.Count(actiontest.StatusError) > 0 {
				t.Errorf("the gate: %s", rep.Summary())
			}
		})
	}
	wg.Wait()
	if m := most.Load(); m != 2 {
		t.Errorf("at most %d tests at once, want 2", m)
	}
}
