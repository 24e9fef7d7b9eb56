package main_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// enrichKey is enrich-profile's secret value; no output may show it.
const enrichKey = "enrich-key-90e1c"

// testedTenant runs `actionsync local-tenant` with node, a dependency
// cache and a state file, and returns the environment that points the
// binary at it, its request log and its state file.
func testedTenant(t *testing.T) (env []string, reqLog, state string) {
	t.Helper()
	state = filepath.Join(t.TempDir(), "state.json")
	url, reqLog := localTenantProcess(t, "--build-delay", "50ms", "--test-timeout", "5s",
		"--npm-cache", filepath.Join(t.TempDir(), "npm"), "--state", state)
	return []string{"AUTH0_DOMAIN=" + url, "AUTH0_CLIENT_ID=cid", "AUTH0_CLIENT_SECRET=csec", "ENRICH_API_KEY=" + enrichKey}, reqLog, state
}

// withWrongCase is the example repo with a case of deny-blocked-ips that
// fails.
func withWrongCase(t *testing.T) string {
	t.Helper()
	repo := exampleRepo(t)
	os.WriteFile(filepath.Join(repo, "actions/deny-blocked-ips/tests/wrong.yaml"), []byte(
		"- name: expects the wrong message\n  event: {request: {ip: 203.0.113.7}}\n  expect:\n    - api.access.deny: [\"nope\"]\n"), 0o644)
	return repo
}

// names maps the ids of the tenant's actions to their names, from its
// state file.
func names(t *testing.T, state string) map[string]string {
	t.Helper()
	var st struct{ Actions []struct{ ID, Name string } }
	if b, err := os.ReadFile(state); err == nil {
		json.Unmarshal(b, &st) // not yet written: no names yet
	}
	out := map[string]string{}
	for _, a := range st.Actions {
		out[a.ID] = a.Name
	}
	return out
}

// calls counts the successful requests of the log by route, the action's
// name in place of its id.
func calls(t *testing.T, reqLog, state string) map[string]int {
	t.Helper()
	byID := names(t, state)
	out := map[string]int{}
	for _, r := range readLog(t, reqLog) {
		if r.Status >= 300 || r.Method == http.MethodGet || r.Path == "/oauth/token" {
			continue
		}
		p := r.Path
		for id, name := range byID {
			p = strings.Replace(p, "/"+id, "/"+name, 1)
		}
		out[r.Method+" "+strings.TrimPrefix(p, "/api/v2/actions/")]++
	}
	return out
}

// deployed counts the deploys in the request log, by action.
func deployed(t *testing.T, reqLog, state string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for route, n := range calls(t, reqLog, state) {
		if action, ok := strings.CutSuffix(strings.TrimPrefix(route, "POST actions/"), "/deploy"); ok {
			out[action] = n
		}
	}
	return out
}

type testReport struct {
	Summary struct{ Total, Passed, Failed, Errors, Skipped int }
	Results []struct {
		Name, Status, Reason, Action string
		Executions                   []string
	}
}

// TestRemoteTests runs `actionsync test --remote` with the real binary
// against `actionsync local-tenant`: the example repo's module is published
// and its drafts are created and built, nothing is deployed or bound, and
// every case passes on them but the one that sets a secret, which is
// skipped. Then a case that fails
// makes it exit 1.
func TestRemoteTests(t *testing.T) {
	env, reqLog, state := testedTenant(t)
	r := run(t, t.TempDir(), env, "test", "--remote", "--repo", exampleRepo(t), "--output", "json")
	var rep testReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 {
		t.Fatalf("exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	if rep.Summary.Total != 19 || rep.Summary.Passed != 18 || rep.Summary.Skipped != 1 {
		t.Errorf("summary %+v", rep.Summary)
	}
	for _, res := range rep.Results {
		if res.Status == "pass" && len(res.Executions) == 0 {
			t.Errorf("%s: no execution on the tenant", res.Name)
		}
	}
	got := calls(t, reqLog, state)
	want := map[string]int{"POST modules": 1, "POST actions": 4} // the claims module, published for the drafts that pin it
	tests := 0
	for route, n := range got {
		if strings.HasSuffix(route, "/test") {
			tests += n
			continue
		}
		if want[route] != n {
			t.Errorf("%s: %d calls", route, n)
		}
	}
	if tests < 18 {
		t.Errorf("%d test runs for 18 cases", tests)
	}
	noSecretIn(t, r.stdout+r.stderr)

	r = run(t, t.TempDir(), env, "test", "--remote", "--repo", withWrongCase(t), "deny-blocked-ips")
	if r.code != 1 || !strings.Contains(r.stdout, `FAIL  deny-blocked-ips "expects the wrong message"`) || !strings.Contains(r.stdout, "executions on the tenant: ") {
		t.Errorf("a failing case: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	noSecretIn(t, r.stdout+r.stderr)
}

// TestTestedOnce runs `actionsync --once --test` with the real binary
// against `actionsync local-tenant`: the failing case holds back exactly
// its action's deploy (the request log shows none for it, and the deploys
// of the others), which is not bound; the summary says which and why, with
// the report; exit 1.
func TestTestedOnce(t *testing.T) {
	env, reqLog, state := testedTenant(t)
	r := run(t, t.TempDir(), env, "--once", "--test", "--repo", withWrongCase(t))
	if r.code != 1 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`FAILED create deny-blocked-ips: test cases failed (1 of 5): "expects the wrong message": call 1: got api.access.deny("Logins from this address are blocked."), want api.access.deny("nope")`,
		"ok     bind post-login", `FAIL  deny-blocked-ips "expects the wrong message"`, "SKIP  flow post-login",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the output does not say %q:\n%s", want, r.stdout)
		}
	}
	if got, want := deployed(t, reqLog, state), map[string]int{"enrich-profile": 1, "require-mfa-for-admins": 1, "add-token-claims": 1}; !maps.Equal(got, want) {
		t.Errorf("deploys %v, want %v", got, want)
	}
	noSecretIn(t, r.stdout+r.stderr)
	b, _ := os.ReadFile(reqLog)
	noSecretIn(t, string(b))
}

func noSecretIn(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, enrichKey) {
		t.Errorf("a secret value was printed:\n%s", out)
	}
}

// TestPRWorkflow runs the script of examples/github-actions/pr-plan.yaml
// (but its go install: the binary under test is on PATH) in the example
// repo, against the built-in tenant: one comment, the plan's markdown and
// then the test report's, and the exit codes for the steps after it.
func TestPRWorkflow(t *testing.T) {
	b, err := os.ReadFile("../../examples/github-actions/pr-plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct{ ID, Run string }
		}
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	script := ""
	for _, s := range wf.Jobs["plan"].Steps {
		if s.ID == "run" {
			script = s.Run
		}
	}
	_, script, ok := strings.Cut(script, "@main\n")
	if !ok {
		t.Fatalf("no go install line in the script:\n%s", script)
	}
	repo, outputs := exampleRepo(t), filepath.Join(t.TempDir(), "outputs")
	cmd := exec.CommandContext(t.Context(), "bash", "-e", "-c", script)
	cmd.Dir = repo
	cmd.Env = []string{"PATH=" + filepath.Dir(binary) + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"GITHUB_OUTPUT=" + outputs, "AUTH0_DOMAIN=local", "ENRICH_API_KEY=" + enrichKey}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the script: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(outputs)
	if string(got) != "plan=2\ntests=0\n" {
		t.Errorf("step outputs %q, want the plan pending and the cases passing", got)
	}
	comment, _ := os.ReadFile(filepath.Join(repo, "comment.md"))
	plan, tests, ok := strings.Cut(string(comment), "### actionsync test")
	if !ok || !strings.Contains(plan, "to create") || !strings.Contains(tests, "19 cases: 19 passed") || len(comment) > 65535 {
		t.Errorf("the comment:\n%s", comment)
	}
	noSecretIn(t, string(comment))
}

// TestTestedDaemon: the daemon with --test holds back the action whose
// case fails, deploys the others, and is not ready; once the case is gone
// from the watched directory, it deploys the action and is ready.
func TestTestedDaemon(t *testing.T) {
	env, reqLog, state := testedTenant(t)
	repo := withWrongCase(t)
	d := startDaemon(t, t.TempDir(), env, "--test", "--repo", repo)
	others := map[string]int{"enrich-profile": 1, "require-mfa-for-admins": 1, "add-token-claims": 1}
	waitFor(t, "the deploys of the others", func() bool {
		code, body := d.get("/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "failed") && maps.Equal(deployed(t, reqLog, state), others)
	})
	if err := os.Remove(filepath.Join(repo, "actions/deny-blocked-ips/tests/wrong.yaml")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "deny-blocked-ips deployed", func() bool {
		code, _ := d.get("/readyz")
		return code == http.StatusOK && deployed(t, reqLog, state)["deny-blocked-ips"] == 1
	})
}

// TestWorkflowPathsCoverTheRepo: each example workflow runs on a change to
// any file of the repo format (an action, a module, triggers.yaml, a flow
// test, actionsync.yaml), so that a module-only or config-only change is
// planned, tested and applied too.
func TestWorkflowPathsCoverTheRepo(t *testing.T) {
	changed := []string{"actions/a/index.js", "modules/m/index.js", "triggers.yaml", "triggers/post-login.tests.yaml", "actionsync.yaml"}
	for _, name := range []string{"pr-plan.yaml", "apply-main.yaml"} {
		b, err := os.ReadFile("../../examples/github-actions/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var wf struct {
			On map[string]struct{ Paths []string } `yaml:"on"`
		}
		if err := yaml.Unmarshal(b, &wf); err != nil {
			t.Fatal(err)
		}
		for event, on := range wf.On {
			for _, file := range changed {
				if !slices.ContainsFunc(on.Paths, func(p string) bool {
					return p == file || strings.HasSuffix(p, "/**") && strings.HasPrefix(file, strings.TrimSuffix(p, "**"))
				}) {
					t.Errorf("%s: %s paths %q miss %s", name, event, on.Paths, file)
				}
			}
		}
		if len(wf.On) == 0 {
			t.Errorf("%s: no events", name)
		}
	}
}
