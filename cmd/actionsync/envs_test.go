package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/auth0/go-auth0/management"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Secret values of the environments' tests: each must reach its own
// tenant, and no output.
const (
	devKey     = "dev-key-5f1e9a"
	prodKey    = "prod-key-c02b77"
	prodRegion = "region-eu-west-93"
)

// envConfig has dev follow main and prod follow release, prod without the
// debug action and with secrets of its own.
const envConfig = `owner: identity
environments:
  dev:
    domain_env: DEV_DOMAIN
    client_id_env: DEV_CLIENT_ID
    client_secret_env: DEV_CLIENT_SECRET
    ref: main
  prod:
    domain_env: PROD_DOMAIN
    client_id_env: PROD_CLIENT_ID
    client_secret_env: PROD_CLIENT_SECRET
    ref: release
    exclude: [debug-logger]
    secrets:
      greet:
        API_KEY: {from_env: PROD_GREET_KEY}
        REGION: {value: ` + prodRegion + `}
`

// envFiles is the repo at a generation of greet's code.
func envFiles(gen int) map[string]string {
	return map[string]string{
		"actionsync.yaml":                  envConfig,
		"actions/greet/action.yaml":        "trigger:\n  id: post-login\n  version: v3\nsecrets:\n  - name: API_KEY\n    from_env: DEV_GREET_KEY\n",
		"actions/greet/index.js":           greetCode(gen),
		"actions/debug-logger/action.yaml": "trigger:\n  id: post-login\n  version: v3\n",
		"actions/debug-logger/index.js":    "exports.onExecutePostLogin = async (event) => { console.log(event.user); };\n",
		"triggers.yaml":                    "post-login:\n  - greet\n  - debug-logger\n",
	}
}

func greetCode(gen int) string {
	return fmt.Sprintf("exports.onExecutePostLogin = async () => {}; // generation %d\n", gen)
}

// envTenant is a local tenant over plain HTTP on loopback, its state (with
// the secret values it holds) in a file, behind a switch that makes it
// answer 503: held until released, so that a test sees whether anything
// waits on it.
type envTenant struct {
	*localtenant.Tenant
	api   *management.Management
	state string
	env   []string // the variables an environment's settings name

	mu       gosync.Mutex
	outage   bool
	release  chan struct{}
	released bool
}

func startEnvTenant(t *testing.T, name string) *envTenant {
	t.Helper()
	state := filepath.Join(t.TempDir(), "state.json")
	lt, err := localtenant.New(localtenant.Options{BuildDelay: 20 * time.Millisecond, ClientID: "cid-" + name, ClientSecret: "csec-" + name, Node: "-", StatePath: state})
	if err != nil {
		t.Fatal(err)
	}
	et := &envTenant{Tenant: lt, state: state}
	srv := httptest.NewServer(http.HandlerFunc(et.serve))
	t.Cleanup(srv.Close)
	t.Cleanup(et.end)
	u, _ := url.Parse(srv.URL)
	cc := clientcredentials.Config{ClientID: "cid-" + name, ClientSecret: "csec-" + name, TokenURL: srv.URL + "/oauth/token",
		EndpointParams: url.Values{"audience": {srv.URL + "/api/v2/"}}}
	client := &http.Client{Transport: &oauth2.Transport{Source: cc.TokenSource(context.Background()), Base: http.DefaultTransport}}
	et.api, err = management.New(u.Host, management.WithInsecure(), management.WithClient(client), management.WithNoRetries())
	if err != nil {
		t.Fatal(err)
	}
	up := strings.ToUpper(name)
	et.env = []string{up + "_DOMAIN=" + srv.URL, up + "_CLIENT_ID=cid-" + name, up + "_CLIENT_SECRET=csec-" + name}
	return et
}

func (et *envTenant) serve(w http.ResponseWriter, r *http.Request) {
	et.mu.Lock()
	down, release := et.outage, et.release
	et.mu.Unlock()
	if down && strings.HasPrefix(r.URL.Path, "/api/") {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		http.Error(w, `{"statusCode":503,"error":"Service Unavailable","message":"down"}`, http.StatusServiceUnavailable)
		return
	}
	et.Tenant.ServeHTTP(w, r)
}

// down starts an outage: requests are held until answer, then 503.
func (et *envTenant) down() {
	et.mu.Lock()
	defer et.mu.Unlock()
	et.outage, et.release, et.released = true, make(chan struct{}), false
}

// answer lets held and later requests of the outage through as 503s.
func (et *envTenant) answer() {
	et.mu.Lock()
	defer et.mu.Unlock()
	if et.release != nil && !et.released {
		close(et.release)
		et.released = true
	}
}

// end ends the outage.
func (et *envTenant) end() {
	et.answer()
	et.mu.Lock()
	defer et.mu.Unlock()
	et.outage = false
}

// deployed is the deployed code of each action, without the stamp.
func (et *envTenant) deployed() map[string]string {
	out := map[string]string{}
	l, err := et.api.Action.List(context.Background(), management.PerPage(100))
	if err != nil {
		return out
	}
	for _, a := range l.Actions {
		out[a.GetName()] = stamp.Body(a.GetDeployedVersion().GetCode())
	}
	return out
}

func (et *envTenant) stateHolds(value string) bool {
	b, _ := os.ReadFile(et.state)
	return bytes.Contains(b, []byte(value))
}

// gitRepo is a bare repository and a work tree that pushes to it, driven
// with the git command, as a person promotes.
type gitRepo struct {
	t          *testing.T
	bare, work string
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	root := t.TempDir()
	g := &gitRepo{t: t, bare: filepath.Join(root, "origin.git"), work: filepath.Join(root, "work")}
	g.git(root, "init", "-q", "--bare", "-b", "main", g.bare)
	g.git(root, "clone", "-q", g.bare, g.work)
	g.git(g.work, "checkout", "-q", "-B", "main")
	return g
}

func (g *gitRepo) url() string { return "file://" + g.bare }

func (g *gitRepo) git(dir string, args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files on main (the work tree's branch between steps),
// commits and pushes main.
func (g *gitRepo) commit(files map[string]string) {
	g.t.Helper()
	for name, content := range files {
		p := filepath.Join(g.work, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			g.t.Fatal(err)
		}
	}
	g.git(g.work, "add", "-A")
	g.git(g.work, "commit", "-q", "-m", "change")
	g.git(g.work, "push", "-q", "origin", "main")
}

// promote merges main into release and pushes release: a promotion.
func (g *gitRepo) promote() {
	g.t.Helper()
	g.git(g.work, "checkout", "-q", "-B", "release", "origin/release")
	g.git(g.work, "merge", "-q", "--no-edit", "main")
	g.git(g.work, "push", "-q", "origin", "release")
	g.git(g.work, "checkout", "-q", "main")
}

// startRelease makes release from main and pushes it.
func (g *gitRepo) startRelease() {
	g.t.Helper()
	g.git(g.work, "push", "-q", "origin", "main:release")
	g.git(g.work, "fetch", "-q", "origin")
}

// capturedDaemon is a daemon process whose stderr is kept.
type capturedDaemon struct {
	*daemon
	mu  gosync.Mutex
	log bytes.Buffer
}

func (d *capturedDaemon) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// startEnvDaemon runs the daemon over every environment of the repo,
// keeping what it logs.
func startEnvDaemon(t *testing.T, env []string, args ...string) *capturedDaemon {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	cmd := exec.CommandContext(ctx, binary, append(args, "--listen", "127.0.0.1:0", "--log-format", "json")...)
	cmd.Dir = t.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &capturedDaemon{daemon: &daemon{cmd: cmd}}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			d.mu.Lock()
			d.log.Write(append(sc.Bytes(), '\n'))
			d.mu.Unlock()
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" {
				addr <- line.Addr
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait(); cancel() })
	select {
	case d.addr = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatalf("the daemon never said where it serves:\n%s", d.output())
	}
	return d
}

// envSetup starts the dev and prod tenants and a repo of envFiles(1) on
// main and release, and returns the variables that reach both.
func envSetup(t *testing.T) (dev, prod *envTenant, g *gitRepo, env []string) {
	t.Helper()
	dev, prod = startEnvTenant(t, "dev"), startEnvTenant(t, "prod")
	g = newGitRepo(t)
	g.commit(envFiles(1))
	g.startRelease()
	env = append(append([]string{"DEV_GREET_KEY=" + devKey, "PROD_GREET_KEY=" + prodKey}, dev.env...), prod.env...)
	return dev, prod, g, env
}

// TestEnvironmentsPromotion: one daemon, two tenants, one bare repo. A
// push to main changes dev only; merging main into release changes prod;
// each secret value reaches only its tenant and no output; the action left
// out of prod is never created there; a prod tenant that hangs and then
// answers 503 leaves dev converging, and prod converges once it is back.
func TestEnvironmentsPromotion(t *testing.T) {
	dev, prod, g, env := envSetup(t)
	d := startEnvDaemon(t, env, "--repo", g.url(), "--env", "all", "--interval", "100ms", "--drift-interval", "1h")

	live := func(et *envTenant, gen int) func() bool {
		return func() bool { return et.deployed()["greet"] == greetCode(gen) }
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.output())
		}
	})
	waitFor(t, "dev live at 1", live(dev, 1))
	waitFor(t, "prod live at 1", live(prod, 1))
	waitFor(t, "both ready", func() bool { code, _ := d.get("/readyz"); return code == 200 })
	if _, ok := dev.deployed()["debug-logger"]; !ok {
		t.Error("dev lacks debug-logger")
	}

	// A push to main changes dev only.
	g.commit(map[string]string{"actions/greet/index.js": greetCode(2)})
	prodWrites := writeCount(prod.Tenant)
	waitFor(t, "dev live at 2", live(dev, 2))
	waitFor(t, "dev's push recorded", func() bool {
		return strings.Contains(metricLines(d), `actionsync_reconcile_total{env="dev",result="success"} 2`)
	})
	if got := prod.deployed()["greet"]; got != greetCode(1) || writeCount(prod.Tenant) != prodWrites {
		t.Fatalf("a push to main reached prod: greet %q, %d writes", got, writeCount(prod.Tenant)-prodWrites)
	}

	// Merging main into release changes prod.
	g.promote()
	waitFor(t, "prod live at 2", live(prod, 2))

	// Prod goes down: its requests hang, then answer 503. Dev goes on.
	prod.down()
	g.commit(map[string]string{"actions/greet/index.js": greetCode(3)})
	g.promote()
	waitFor(t, "dev live at 3 while prod hangs", live(dev, 3))
	prod.answer()
	waitFor(t, "prod's failure reported", func() bool {
		code, _ := d.get("/readyz/prod")
		return code == 503 && strings.Contains(metricLines(d), `actionsync_reconcile_total{env="prod",result="error"}`)
	})
	if code, body := d.get("/readyz/dev"); code != 200 {
		t.Errorf("/readyz/dev = %d %q while prod is down, want 200", code, body)
	}
	if code, body := d.get("/readyz"); code != 503 || !strings.Contains(body, "prod: not ready") || !strings.Contains(body, "dev: ready") {
		t.Errorf("/readyz = %d %q, want 503 listing each environment", code, body)
	}
	prod.end()
	waitFor(t, "prod live at 3 once back", live(prod, 3))

	// The action left out of prod was never created there; each secret
	// value is in its own tenant only, and in no output.
	for _, r := range prod.Requests() {
		if strings.Contains(r.Path+r.Query, "debug-logger") {
			t.Errorf("prod was asked about debug-logger: %s %s?%s", r.Method, r.Path, r.Query)
		}
	}
	if _, ok := prod.deployed()["debug-logger"]; ok {
		t.Error("debug-logger was created in prod")
	}
	for _, tc := range []struct {
		et      *envTenant
		holds   []string
		lacks   []string
		tenantN string
	}{
		{dev, []string{devKey}, []string{prodKey, prodRegion}, "dev"},
		{prod, []string{prodKey, prodRegion}, []string{devKey}, "prod"},
	} {
		for _, v := range tc.holds {
			if !tc.et.stateHolds(v) {
				t.Errorf("%s's tenant lacks its secret value %s", tc.tenantN, v)
			}
		}
		for _, v := range tc.lacks {
			if tc.et.stateHolds(v) {
				t.Errorf("%s's tenant holds another environment's value %s", tc.tenantN, v)
			}
		}
	}
	out := d.output() + metricLines(d)
	for _, v := range []string{devKey, prodKey, prodRegion, "csec-dev", "csec-prod"} {
		if strings.Contains(out, v) {
			t.Errorf("a value reached the daemon's output: %s", v)
		}
	}
}

func metricLines(d *capturedDaemon) string {
	_, body := d.get("/metrics")
	return body
}

// TestEnvironmentCommands: --dry-run --env all plans each environment
// against its own tenant in one report (a PR comment with a section each,
// JSON an object per environment); --once --env applies one environment on
// its own branch only; AUTH0_DOMAIN naming an environment's tenant needs
// --env; status and export take --env.
func TestEnvironmentCommands(t *testing.T) {
	dev, prod, g, env := envSetup(t)
	work := t.TempDir()

	r := run(t, work, env, "--dry-run", "--env", "all", "--repo", g.work, "--output", "markdown")
	if r.code != 2 || strings.Count(r.stdout, "## Environment ") != 2 || strings.Count(r.stdout, "### actionsync plan") != 2 {
		t.Fatalf("markdown: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	devPart, prodPart, _ := strings.Cut(r.stdout, "## Environment `prod`")
	if !strings.Contains(devPart, "Plan: 2 to create") || !strings.Contains(prodPart, "Plan: 1 to create") || strings.Contains(prodPart, "debug-logger") {
		t.Errorf("sections: dev creates greet and debug-logger, prod greet only:\n%s", r.stdout)
	}
	noValues := func(what, out string) {
		for _, v := range []string{devKey, prodKey, prodRegion} {
			if strings.Contains(out, v) {
				t.Errorf("%s printed the secret value %s", what, v)
			}
		}
	}
	noValues("the markdown dry run", r.stdout+r.stderr)
	r = run(t, work, env, "--dry-run", "--env", "all", "--repo", g.work, "--output", "json")
	noValues("the json dry run", r.stdout+r.stderr)
	var plans struct {
		Environments map[string]struct {
			Ref  string
			Plan struct{ Steps []any }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &plans); err != nil || r.code != 2 || plans.Environments["prod"].Ref != "release" || len(plans.Environments["dev"].Plan.Steps) != 3 {
		t.Errorf("json: exit %d, %v %+v\n%s", r.code, err, plans, r.stdout)
	}
	if n := writeCount(dev.Tenant) + writeCount(prod.Tenant); n != 0 {
		t.Fatalf("dry runs made %d writes", n)
	}

	// test --env runs the cases of the environment's actions only.
	os.MkdirAll(filepath.Join(g.work, "actions/debug-logger/tests"), 0o755)
	os.WriteFile(filepath.Join(g.work, "actions/debug-logger/tests/logs.yaml"), []byte("- name: logs the user\n  expect: []\n"), 0o644)
	for envName, want := range map[string]bool{"dev": true, "prod": false} {
		r := run(t, work, env, "test", "--env", envName, "--repo", g.work)
		if r.code != 0 || strings.Contains(r.stdout, "logs the user") != want {
			t.Errorf("test --env %s: exit %d, runs debug-logger's case: %v, want %v\n%s\n%s", envName, r.code, !want, want, r.stdout, r.stderr)
		}
	}
	os.RemoveAll(filepath.Join(g.work, "actions/debug-logger/tests"))

	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"prod on main's work tree", []string{"--once", "--env", "prod", "--repo", g.work}, env, "environment prod follows the branch release; the work tree at " + g.work + " is on main"},
		{"AUTH0_DOMAIN is prod's tenant", []string{"--once", "--repo", g.work}, append(env, "AUTH0_DOMAIN="+strings.TrimPrefix(prod.env[0], "PROD_DOMAIN="), "AUTH0_CLIENT_ID=cid-prod", "AUTH0_CLIENT_SECRET=csec-prod"), "--env prod"},
		{"an environment not defined", []string{"--dry-run", "--env", "staging", "--repo", g.work}, env, "defines no such environment (defined: dev, prod)"},
		{"a variable unset", []string{"--once", "--env", "prod", "--repo", g.url()}, dev.env, "environment prod: $PROD_DOMAIN is unset"},
		{"--once --env all", []string{"--once", "--env", "all", "--repo", g.url()}, env, "all is for --dry-run and the daemon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, work, tc.env, tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q, want 1 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
	if n := writeCount(dev.Tenant) + writeCount(prod.Tenant); n != 0 {
		t.Fatalf("refused runs made %d writes", n)
	}

	// On its own branch (a Git URL here), prod applies, without debug-logger.
	r = run(t, work, env, "--once", "--env", "prod", "--repo", g.url())
	if r.code != 0 || prod.deployed()["greet"] != greetCode(1) || len(prod.deployed()) != 1 {
		t.Fatalf("--once --env prod: exit %d, prod %v\n%s\n%s", r.code, prod.deployed(), r.stdout, r.stderr)
	}
	if n := writeCount(dev.Tenant); n != 0 {
		t.Errorf("--once --env prod wrote %d times to dev", n)
	}
	r = run(t, work, env, "status", "--env", "prod", "--repo", g.url())
	if r.code != 0 || strings.Contains(r.stdout, "debug-logger") {
		t.Errorf("status --env prod: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	out := filepath.Join(t.TempDir(), "export")
	r = run(t, work, env, "export", "--env", "prod", "--repo", g.url(), "--out", out, "--output", "json")
	cfg, _ := os.ReadFile(filepath.Join(out, "actionsync.yaml"))
	if r.code != 0 || !strings.Contains(string(cfg), "from_env: PROD_GREET_API_KEY") || !strings.Contains(string(cfg), "ref: release") {
		t.Errorf("export --env prod: exit %d\n%s\n%s\nactionsync.yaml:\n%s", r.code, r.stdout, r.stderr, cfg)
	}
	for _, v := range []string{devKey, prodKey, prodRegion} {
		if strings.Contains(r.stdout+r.stderr+string(cfg), v) {
			t.Errorf("a secret value was printed or written: %s", v)
		}
	}
}

// TestTwoEnvironmentsOneTenant: when two environments name one tenant
// (here prod's PROD_DOMAIN set to dev's URL, spelt in capitals and with a
// trailing slash), every sync of one would undo the other's overlay: each
// command that resolves environments refuses the config, naming both,
// before a single request to either tenant.
func TestTwoEnvironmentsOneTenant(t *testing.T) {
	dev, prod, g, env := envSetup(t)
	devURL := strings.TrimPrefix(dev.env[0], "DEV_DOMAIN=")
	env = append(env, "PROD_DOMAIN="+strings.ToUpper(devURL)+"/")
	work := t.TempDir()
	for _, args := range [][]string{
		{"--dry-run", "--env", "dev"},
		{"--once", "--env", "prod", "--branch", "release"},
		{"--dry-run", "--env", "all"},
		{"status", "--env", "dev"},
	} {
		r := run(t, work, env, append(args, "--repo", g.work)...)
		if r.code != 1 || !strings.Contains(r.stderr, "environments dev and prod in actionsync.yaml name one tenant, "+strings.TrimPrefix(devURL, "http://")) {
			t.Errorf("%q: exit %d, want 1 naming both environments\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	if n := len(dev.Requests()) + len(prod.Requests()); n != 0 {
		t.Errorf("%d requests to the tenants, want none", n)
	}
}

// TestGitSourcesLeaveNothing: every command that reads a Git URL removes
// the commit it fetched when it ends, with or without --env (which reads
// actionsync.yaml from --branch and then each environment's branch).
func TestGitSourcesLeaveNothing(t *testing.T) {
	_, _, g, env := envSetup(t)
	tmp := t.TempDir()
	env = append(env, "TMPDIR="+tmp)
	for _, args := range [][]string{
		{"--dry-run", "--env", "dev"},
		{"--dry-run", "--env", "all"},
		{"status", "--env", "prod"},
		{"test", "--env", "prod"},
		{"export", "--env", "dev", "--out", filepath.Join(t.TempDir(), "out")},
	} {
		r := run(t, t.TempDir(), env, append(args, "--repo", g.url())...)
		// export of the empty tenant is exit 1 for that alone
		if r.code == 1 && !strings.Contains(r.stderr, "the repo does not load yet") {
			t.Fatalf("%q: exit 1\n%s%s", args, r.stdout, r.stderr)
		}
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Fatalf("%q left %d entries in TMPDIR, such as %s", args, len(left), left[0].Name())
		}
	}
}
