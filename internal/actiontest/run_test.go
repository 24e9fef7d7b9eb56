package actiontest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/actiontest"
	"github.com/actionsync/actionsync/internal/node"
)

// limit is the time limit of the test runs: short, for the case that
// spins, and long enough for the others on a loaded machine.
const limit = 3 * time.Second

// cacheDir is the dependency cache every test of this binary shares, so
// lodash is installed once.
var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "actiontest-cache-*")
	if err != nil {
		panic(err)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runner(tb testing.TB) *node.Runner {
	tb.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		tb.Fatal("node is needed to run action code; .ci/run installs it")
	}
	return &node.Runner{Cache: cacheDir, Timeout: limit}
}

var (
	runOnce sync.Once
	runRep  *actiontest.Report
)

// reportOf runs testdata/run, once for every test of the binary that reads
// its report.
func reportOf(tb testing.TB) *actiontest.Report {
	tb.Helper()
	r := runner(tb)
	runOnce.Do(func() {
		_, suite := loadRepo(tb, "testdata/run")
		runRep = suite.Run(tb.Context(), r, actiontest.RunOptions{})
	})
	if runRep == nil {
		tb.Fatal("the run of testdata/run failed")
	}
	return runRep
}

func result(tb testing.TB, rep *actiontest.Report, subject, name string) actiontest.Result {
	tb.Helper()
	for _, r := range rep.Results {
		if r.Case.Subject() == subject && r.Case.Name == name {
			return r
		}
	}
	tb.Fatalf("no case %s: %s", subject, name)
	return actiontest.Result{}
}

// TestRunJudges runs the cases of testdata/run through node and checks how
// each was judged: for post-login and credentials-exchange, a pass, a
// fail, a throw (expected and not) and a time-out; a dependency; flows.
func TestRunJudges(t *testing.T) {
	rep := reportOf(t)
	tests := []struct {
		subject, name string
		status        actiontest.Status
		reason        string
	}{
		{"gate", "denies a blocked user", actiontest.StatusPass, ""},
		{"gate", "marks others as seen", actiontest.StatusPass, ""},
		{"gate", "fails when it expects the wrong call", actiontest.StatusFail, `call 1: got api.access.deny("blocked"), want api.access.deny("not this reason")`},
		{"gate", "throws without a user", actiontest.StatusPass, ""},
		{"gate", "fails when it throws unexpectedly", actiontest.StatusFail, "threw TypeError: Cannot read properties of null (reading 'app_metadata') (at actions/gate/index.js:3:18)"},
		{"claims", "says the user was not seen", actiontest.StatusPass, ""},
		{"m2m", "stamps the audience", actiontest.StatusPass, ""},
		{"m2m", "denies by policy", actiontest.StatusPass, ""},
		{"m2m", "fails on the wrong audience", actiontest.StatusFail, `call 1: got api.accessToken.setCustomClaim("https://example.com/aud", "https://other.example.com"), want api.accessToken.setCustomClaim("https://example.com/aud", "https://api.example.com")`},
		{"m2m", "throws for a broken client", actiontest.StatusPass, ""},
		{"m2m", "fails when the throw says something else", actiontest.StatusFail, `threw Error: client Xq2bG3u9mQ1vZ7sKp0LwR4tY8nC6dE5f is broken (at actions/m2m/index.js:4:11), want a message containing "is on fire"`},
		{"slow", "returns when quick", actiontest.StatusPass, ""},
		{"slow", "runs past the time limit", actiontest.StatusFail, "Script execution time exceeded: timed out after 3s"},
		{"uses-lodash", "requires lodash at its pinned version", actiontest.StatusPass, ""},
		{"leaky", "passes its key to api, masked", actiontest.StatusPass, ""},
		{"leaky", "throws its key, masked", actiontest.StatusPass, ""},
		{"leaky", "fails and masks an override", actiontest.StatusFail, "threw Error: bad key *** (at actions/leaky/index.js:9:11)"},
		{"flow post-login", "a seen user gets both claims, in order", actiontest.StatusPass, ""},
		{"flow post-login", "a deny stops the flow", actiontest.StatusPass, ""},
		{"flow post-login", "fails when the flow calls more than it expects", actiontest.StatusFail, `call 2: got api.idToken.setCustomClaim("https://example.com/gate", "passed") from gate, want no more calls (1 expected)`},
		{"flow credentials-exchange", "stamps the audience in the flow", actiontest.StatusPass, ""},
		{"flow credentials-exchange", "a throw in the flow is its message", actiontest.StatusPass, ""},
	}
	if len(tests) != len(rep.Results) {
		t.Errorf("%d results, want %d", len(rep.Results), len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.subject+"/"+tc.name, func(t *testing.T) {
			r := result(t, rep, tc.subject, tc.name)
			if r.Status != tc.status || r.Reason != tc.reason {
				t.Errorf("got %s %q, want %s %q", r.Status, r.Reason, tc.status, tc.reason)
			}
		})
	}
	if rep.Passed() || rep.Count(actiontest.StatusFail) != 7 {
		t.Errorf("summary: %s", rep.Summary())
	}
	want := []string{"gate", "leaky", "m2m", "slow"}
	if got := rep.FailedActions(); !slices.Equal(got, want) {
		t.Errorf("failed actions %v, want %v", got, want)
	}
	spun := result(t, rep, "slow", "runs past the time limit")
	if !spun.TimedOut || len(spun.Logs) != 1 || spun.Logs[0].Text != "spinning" {
		t.Errorf("the spinning case: timed out %v, logs %+v", spun.TimedOut, spun.Logs)
	}
	denied := result(t, rep, "flow post-login", "a deny stops the flow")
	if denied.DeniedBy != "gate" || len(denied.Calls) != 1 || denied.Calls[0].Action != "gate" {
		t.Errorf("the denied flow: denied by %q, calls %+v", denied.DeniedBy, denied.Calls)
	}
}

// TestFlowOrderMatters reorders the post-login bindings: the claims action
// then runs before gate sets the metadata it reads, and the case fails.
func TestFlowOrderMatters(t *testing.T) {
	repo, suite := loadRepo(t, "testdata/run")
	b := repo.Trigger("post-login").Bindings
	b[0], b[1] = b[1], b[0]
	sel, err := suite.Select("claims")
	if err != nil {
		t.Fatal(err)
	}
	rep := sel.Run(t.Context(), runner(t), actiontest.RunOptions{Parallel: 2})
	r := result(t, rep, "flow post-login", "a seen user gets both claims, in order")
	want := `call 1: got api.idToken.setCustomClaim("https://example.com/seen", false) from claims, want api.user.setAppMetadata("seen", true)`
	if r.Status != actiontest.StatusFail || r.Reason != want {
		t.Errorf("reordered: %s %q, want fail %q", r.Status, r.Reason, want)
	}
}

func TestSelect(t *testing.T) {
	_, suite := loadRepo(t, "testdata/run")
	tests := []struct {
		names []string
		want  int
		flows int
	}{
		{nil, 22, 5},
		{[]string{"gate"}, 8, 3},
		{[]string{"m2m", "slow"}, 9, 2},
		{[]string{"uses-lodash"}, 1, 0},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.names, ","), func(t *testing.T) {
			sel, err := suite.Select(tc.names...)
			if err != nil {
				t.Fatal(err)
			}
			flows := 0
			for _, c := range sel.Cases {
				if c.Flow() {
					flows++
				}
			}
			if len(sel.Cases) != tc.want || flows != tc.flows {
				t.Errorf("%d cases (%d flow), want %d (%d flow)", len(sel.Cases), flows, tc.want, tc.flows)
			}
		})
	}
	if _, err := suite.Select("nope"); err == nil || !strings.Contains(err.Error(), `no action "nope"`) {
		t.Errorf("unknown name: %v", err)
	}
}

// TestCannotRun: without node every case errs, and the caller can tell
// why; a flow that binds an action the repo lacks errs too.
func TestCannotRun(t *testing.T) {
	repo, suite := loadRepo(t, "testdata/run")
	rep := suite.Run(t.Context(), &node.Runner{Node: "/nonexistent/node"}, actiontest.RunOptions{})
	for _, r := range rep.Results {
		if r.Status != actiontest.StatusError || !errors.Is(r.Err, node.ErrNoNode) {
			t.Errorf("%s: %s %v, want an error for the missing node", r.Case.Name, r.Status, r.Err)
		}
	}
	sel, _ := suite.Select("m2m")
	repo.Trigger("credentials-exchange").Bindings[0].Action = "marketplace-integration"
	rep = sel.Run(t.Context(), runner(t), actiontest.RunOptions{})
	r := result(t, rep, "flow credentials-exchange", "stamps the audience in the flow")
	if r.Status != actiontest.StatusError || !errors.Is(r.Err, actiontest.ErrNotInRepo) || !strings.Contains(r.Reason, "marketplace-integration") {
		t.Errorf("a flow binding an action the repo lacks: %s %q", r.Status, r.Reason)
	}
}

// TestExampleRepo runs the cases of examples/repo: all pass, every action
// has cases, and there are throws and a post-login flow among them.
func TestExampleRepo(t *testing.T) {
	repo, suite := loadRepo(t, "../../examples/repo")
	rep := suite.Run(t.Context(), runner(t), actiontest.RunOptions{})
	var text strings.Builder
	rep.Text(&text)
	if !rep.Passed() {
		t.Fatalf("the example repo's cases fail:\n%s", text.String())
	}
	tested, throws, flows := map[string]bool{}, 0, 0
	for _, c := range suite.Cases {
		tested[c.Action] = true
		if c.Throws != "" {
			throws++
		}
		if c.Flow() && c.Trigger == "post-login" {
			flows++
		}
	}
	for _, a := range repo.Actions {
		if !tested[a.Name] {
			t.Errorf("action %s has no cases", a.Name)
		}
	}
	if throws < 2 || flows < 2 {
		t.Errorf("%d cases check a throw, %d run the post-login flow", throws, flows)
	}
	if strings.Contains(text.String(), secretValues["ENRICH_API_KEY"]) {
		t.Error("the report shows enrich-profile's API key")
	}
}

// BenchmarkExampleRepo runs every case of examples/repo (19, dependencies
// cached) with the default parallelism.
func BenchmarkExampleRepo(b *testing.B) {
	_, suite := loadRepo(b, "../../examples/repo")
	r := runner(b)
	for b.Loop() {
		if rep := suite.Run(b.Context(), r, actiontest.RunOptions{}); !rep.Passed() {
			b.Fatal(rep.Summary())
		}
	}
}

// TestActionsRunWithTheirModules: an action's cases run with the modules
// it lists as the commit holds them, each with its own npm dependencies
// and secret values (actions.secrets), which no result shows.
func TestActionsRunWithTheirModules(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"modules/names/module.yaml": "dependencies:\n  - name: lodash\n    version: 4.17.21\nsecrets:\n  - name: TOKEN\n    from_env: SET\n",
		"modules/names/index.js": "const _ = require('lodash');\n" +
			"exports.claim = (n) => 'https://example.com/' + _.kebabCase(n);\n" +
			"exports.token = () => actions.secrets.TOKEN;\n",
		"actions/uses/action.yaml": "trigger:\n  id: post-login\nmodules: [names]\n",
		"actions/uses/index.js": "const names = require('actions:names');\n" +
			"exports.onExecutePostLogin = async (event, api) => {\n" +
			"  api.idToken.setCustomClaim(names.claim('Home Region'), names.token().length);\n" +
			"  console.log('token ' + names.token());\n};\n",
		"actions/uses/tests/cases.yaml": "- name: a claim named by the module\n  expect:\n    - api.idToken.setCustomClaim: [\"https://example.com/home-region\", 11]\n",
	} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, suite := loadRepo(t, dir)
	rep := suite.Run(t.Context(), runner(t), actiontest.RunOptions{})
	var text strings.Builder
	rep.Text(&text)
	if !rep.Passed() {
		t.Fatalf("the case fails:\n%s", text.String())
	}
	r := result(t, rep, "uses", "a claim named by the module")
	if len(r.Logs) != 1 || r.Logs[0].Text != "token "+node.Mask {
		t.Errorf("logs = %+v, want the module's secret masked", r.Logs)
	}
	if strings.Contains(text.String(), secretValues["SET"]) {
		t.Error("the report shows the module's secret")
	}
}

// skipping runs cases under node but for those that set secrets, which it
// skips, as a tenant does; it says each run was execution "x-<action>".
type skipping struct{ *node.Runner }

func (s skipping) Skip(c *actiontest.Case) string {
	if len(c.Secrets) > 0 {
		return "no secrets here"
	}
	return ""
}

func (s skipping) Run(ctx context.Context, event map[string]any, actions ...node.Action) (*node.Result, error) {
	res, err := s.Runner.Run(ctx, event, actions...)
	if res != nil {
		for i := range res.Actions {
			res.Actions[i].Execution = "x-" + res.Actions[i].Name
		}
	}
	return res, err
}

// TestSkips: a Skipper's skipped cases are reported with its reason, count
// as no failure, and show in every rendering; a report can be made of
// skipped cases alone; the executions a runner reports are kept.
func TestSkips(t *testing.T) {
	_, suite := loadRepo(t, "testdata/run")
	leaky := suite.Filter(func(c *actiontest.Case) bool { return c.Action == "leaky" && c.Name != "throws its key, masked" })
	rep := leaky.Run(t.Context(), skipping{runner(t)}, actiontest.RunOptions{})
	if got := rep.Summary(); got != "2 cases: 1 passed, 0 failed, 0 errors, 1 skipped" || !rep.Passed() {
		t.Errorf("summary %q, passed %v", got, rep.Passed())
	}
	skipped := result(t, rep, "leaky", "fails and masks an override")
	if skipped.Status != actiontest.StatusSkip || skipped.Reason != "no secrets here" || skipped.Duration != 0 {
		t.Errorf("the case with secrets: %+v", skipped)
	}
	if ran := result(t, rep, "leaky", "passes its key to api, masked"); !slices.Equal(ran.Executions, []string{"x-leaky"}) {
		t.Errorf("executions %v", ran.Executions)
	}
	var text, md, js strings.Builder
	rep.Text(&text)
	rep.Markdown(&md, 0)
	rep.JSON(&js)
	for name, want := range map[string][]string{
		"text":     {`SKIP  leaky "fails and masks an override"`, "      no secrets here"},
		"markdown": {"| ⏭️ skip | fails and masks an override |"},
		"json":     {`"status": "skip"`, `"skipped": 1`, `"executions": [`},
	} {
		got := map[string]string{"text": text.String(), "markdown": md.String(), "json": js.String()}[name]
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s lacks %q:\n%s", name, w, got)
			}
		}
	}

	flows := suite.Filter(func(c *actiontest.Case) bool { return c.Flow() })
	all := flows.Skip("held back")
	if len(all.Results) != 5 || all.Count(actiontest.StatusSkip) != 5 || !all.Passed() || all.Results[0].Reason != "held back" {
		t.Errorf("Skip: %s", all.Summary())
	}
	if got := flows.Bound("post-login"); !slices.Equal(got, []string{"gate", "claims"}) {
		t.Errorf("Bound: %v", got)
	}
}
