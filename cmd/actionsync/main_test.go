package main_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "actionsync-bin-*")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "actionsync")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs the binary in dir with env added to a clean environment.
func run(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func exampleRepo(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS("../../examples/repo")); err != nil {
		t.Fatal(err)
	}
	return dst
}

// tenantOverHTTP serves a local tenant on plain HTTP on loopback, the way
// AUTH0_DOMAIN=http://127.0.0.1:port reaches `actionsync local-tenant`.
func tenantOverHTTP(t *testing.T) (*localtenant.Tenant, []string) {
	t.Helper()
	lt, _, env := serveTenant(t, localtenant.Options{BuildDelay: 20 * time.Millisecond, ClientID: "cid", ClientSecret: "csec", Node: "-"}, nil)
	return lt, append(env, "ENRICH_API_KEY=k1")
}

// serveTenant starts a local tenant with opts on plain HTTP on loopback and
// returns it, its URL and the environment that reaches it. meddle, when
// set, sees each request first and may answer it itself (it says so), as
// the network or a second writer would.
func serveTenant(t *testing.T, opts localtenant.Options, meddle func(lt *localtenant.Tenant, w http.ResponseWriter, r *http.Request) bool) (*localtenant.Tenant, string, []string) {
	t.Helper()
	lt, err := localtenant.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if meddle == nil || !meddle(lt, w, r) {
			lt.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return lt, srv.URL, []string{"AUTH0_DOMAIN=" + srv.URL, "AUTH0_CLIENT_ID=cid", "AUTH0_CLIENT_SECRET=csec"}
}

func writeCount(lt *localtenant.Tenant) int {
	return len(tenanttest.Writes(lt.Requests()))
}

func TestDryRunAndOnce(t *testing.T) {
	lt, env := tenantOverHTTP(t)
	repo := exampleRepo(t)
	work := t.TempDir()

	r := run(t, work, env, "--dry-run", "--repo", repo)
	if r.code != 2 || !strings.Contains(r.stdout, "Plan: 4 to create") {
		t.Fatalf("dry run before seeding: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if n := writeCount(lt); n != 0 {
		t.Fatalf("the dry run made %d write calls", n)
	}

	r = run(t, work, env, "--once", "--repo", repo)
	if r.code != 0 || !strings.Contains(r.stdout, "7 done, 0 failed") {
		t.Fatalf("--once: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	seeded := writeCount(lt)

	for _, output := range []string{"text", "markdown", "json"} {
		r = run(t, work, env, "--dry-run", "--repo", repo, "--output", output)
		if r.code != 0 {
			t.Errorf("dry run after seeding (%s): exit %d\n%s\n%s", output, r.code, r.stdout, r.stderr)
		}
	}
	var plan struct {
		FormatVersion int   `json:"format_version"`
		Steps         []any `json:"steps"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil || plan.FormatVersion != 1 || len(plan.Steps) != 0 {
		t.Errorf("json plan: %v %+v\n%s", err, plan, r.stdout)
	}
	if n := writeCount(lt); n != seeded {
		t.Errorf("dry runs after seeding made %d write calls", n-seeded)
	}
	r = run(t, work, env, "--once", "--repo", repo, "--output", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"applied": []`) {
		t.Errorf("second --once: exit %d\n%s", r.code, r.stdout)
	}
	if n := writeCount(lt); n != seeded {
		t.Errorf("a second --once made %d write calls", n-seeded)
	}
	if strings.Contains(r.stdout+r.stderr, "k1") {
		t.Error("a secret value was printed")
	}
}

func TestBrokenRepoExitsOne(t *testing.T) {
	lt, env := tenantOverHTTP(t)
	repo := exampleRepo(t)
	os.WriteFile(filepath.Join(repo, "actions/deny-blocked-ips/action.yaml"), []byte("trigger:\n  id: post-login\nrunime: node22\n"), 0o644)
	r := run(t, t.TempDir(), env, "--dry-run", "--repo", repo)
	if r.code != 1 || !strings.Contains(r.stderr, `actions/deny-blocked-ips/action.yaml:3: unknown key "runime"`) {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if n := writeCount(lt); n != 0 {
		t.Errorf("%d write calls for a broken repo", n)
	}
}

func TestFlagValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"no repo", []string{"--once"}, nil, "--repo is required"},
		{"bad output", []string{"--dry-run", "--repo", ".", "--output", "yaml"}, nil, `--output "yaml"`},
		{"env twin", []string{"--dry-run", "--repo", "."}, []string{"ACTIONSYNC_OUTPUT=xml"}, `--output "xml"`},
		{"plain http beyond loopback", []string{"--once", "--repo", "."}, []string{"AUTH0_DOMAIN=http://example.com", "AUTH0_ACCESS_TOKEN=x"}, "loopback addresses only"},
		{"domain without credentials", []string{"--once", "--repo", "."}, []string{"AUTH0_DOMAIN=tenant.eu.auth0.com"}, "AUTH0_CLIENT_ID"},
		{"a dry run is not tested", []string{"--dry-run", "--test", "--repo", "."}, nil, "--test is for --once and the daemon"},
		{"remote tests need credentials", []string{"test", "--remote", "--repo", "."}, []string{"AUTH0_DOMAIN=tenant.eu.auth0.com"}, "AUTH0_CLIENT_ID"},
		{"remote tests in CI need a domain", []string{"test", "--remote", "--repo", "."}, []string{"CI=true"}, "AUTH0_DOMAIN is not set"},
		{"markdown limit", []string{"test", "--repo", ".", "--markdown-limit", "10"}, nil, "--markdown-limit 10: want 500 or more"},
		{"test time limit", []string{"local-tenant", "--test-timeout", "0s"}, nil, "--test-timeout 0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, t.TempDir(), tc.env, tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q, want 1 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}

// TestBuiltinTenant is the README's first command on a fresh clone: no
// Auth0 settings, the built-in tenant, and a second run that changes nothing.
func TestBuiltinTenant(t *testing.T) {
	work := t.TempDir()
	repo := exampleRepo(t)
	r := run(t, work, nil, "--once", "--repo", repo, "--log-format", "json")
	if r.code != 0 {
		t.Fatalf("first run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	first, _, _ := strings.Cut(r.stderr, "\n")
	if !strings.Contains(first, "built-in local tenant") {
		t.Errorf("first log line does not say it uses the built-in tenant: %s", first)
	}
	if _, err := os.Stat(filepath.Join(work, ".actionsync", "local-tenant.json")); err != nil {
		t.Errorf("state file: %v", err)
	}
	r = run(t, work, nil, "--once", "--repo", repo)
	if r.code != 0 || !strings.Contains(r.stdout, "nothing to do") {
		t.Errorf("second run: exit %d\n%s", r.code, r.stdout)
	}
}

// TestLocalTenantCommand runs `actionsync local-tenant --tls`, talks to it
// with go-auth0, and stops it with SIGTERM.
func TestLocalTenantCommand(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "cert.pem")
	reqLog := filepath.Join(dir, "requests.jsonl")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "local-tenant", "--listen", "127.0.0.1:0", "--tls", "--cert", cert,
		"--request-log", reqLog, "--build-delay", "0s")
	cmd.Env = []string{"ACTIONSYNC_CLIENT_ID=cid", "ACTIONSYNC_CLIENT_SECRET=csec"}
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var url string
	for url == "" && sc.Scan() {
		var line struct{ URL string }
		json.Unmarshal(sc.Bytes(), &line)
		url = line.URL
	}
	go io.Copy(io.Discard, stderr)
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("no URL in the log")
	}
	pem, _ := os.ReadFile(cert)
	client := tlsClient(t, pem)
	resp, err := client.PostForm(url+"/oauth/token", map[string][]string{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"csec"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("token over TLS with the written certificate: %v %v", err, resp)
	}
	resp.Body.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v, want exit 0", err)
	}
	b, _ := os.ReadFile(reqLog)
	if !strings.Contains(string(b), `"path":"/oauth/token","status":200`) {
		t.Errorf("request log: %s", b)
	}
}

func tlsClient(t *testing.T, pem []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("the written certificate does not parse")
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// daemon is a running actionsync daemon process.
type daemon struct {
	cmd  *exec.Cmd
	addr string // of its HTTP server
}

// startDaemon runs the binary as a daemon in dir with env (and PATH) and
// args, and waits until it says where it serves.
func startDaemon(t *testing.T, dir string, env []string, args ...string) *daemon {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, binary, append(args, "--listen", "127.0.0.1:0", "--log-format", "json")...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait(); cancel() })
	sc := bufio.NewScanner(stderr)
	d := &daemon{cmd: cmd}
	for d.addr == "" && sc.Scan() {
		var line struct{ Msg, Addr string }
		json.Unmarshal(sc.Bytes(), &line)
		if line.Msg == "serving" {
			d.addr = line.Addr
		}
	}
	go io.Copy(io.Discard, stderr)
	if d.addr == "" {
		t.Fatal("the daemon never said where it serves")
	}
	return d
}

// get answers GET path on the daemon's server: status and body (0 when it
// does not answer).
func (d *daemon) get(path string) (int, string) {
	resp, err := http.Get("http://" + d.addr + path)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls cond until it holds or 60 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDaemonSIGTERM runs the sidecar on a local directory with the built-in
// tenant, waits until /readyz answers 200, and stops it with SIGTERM: exit 0.
func TestDaemonSIGTERM(t *testing.T) {
	d := startDaemon(t, t.TempDir(), nil, "--repo", exampleRepo(t))
	waitFor(t, "ready", func() bool { code, _ := d.get("/readyz"); return code == 200 })
	d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v, want exit 0", err)
	}
}

// TestSecretsNeedAKey: with only an access token there is no client secret
// to derive the fingerprint key from, so a repo with secrets is refused
// before any call, unless --secret-key-file is given.
func TestSecretsNeedAKey(t *testing.T) {
	lt, env := tenantOverHTTP(t)
	domain := strings.TrimPrefix(env[0], "AUTH0_DOMAIN=")
	tokenEnv := []string{"AUTH0_DOMAIN=" + domain, "AUTH0_ACCESS_TOKEN=not-checked-yet", "ENRICH_API_KEY=k1"}
	repo := exampleRepo(t)
	r := run(t, t.TempDir(), tokenEnv, "--dry-run", "--repo", repo)
	if r.code != 1 || !strings.Contains(r.stderr, "no fingerprint key is configured") {
		t.Errorf("exit %d, stderr %s", r.code, r.stderr)
	}
	if n := len(lt.Requests()); n != 0 {
		t.Errorf("%d requests before refusing", n)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte("a-key-of-at-least-sixteen-characters"), 0o600)
	r = run(t, t.TempDir(), tokenEnv, "--dry-run", "--repo", repo, "--secret-key-file", keyFile)
	if r.code != 1 || !strings.Contains(r.stderr, "401") {
		t.Errorf("with a key file the run reaches the tenant (which refuses the token): exit %d, %s", r.code, r.stderr)
	}
}

// TestHelp: `actionsync help` lists the commands, `actionsync help COMMAND`
// and `actionsync COMMAND --help` list a command's flags with their twins,
// and an unknown command is exit 1.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		want     []string
		inStderr bool
	}{
		{"commands", []string{"help"}, 0, []string{"usage: actionsync [COMMAND] [flags]", "  sync ", "  status ", "  export ", "  local-tenant "}, false},
		{"status --help", []string{"status", "--help"}, 0, []string{"--repo, $ACTIONSYNC_REPO", "--output, $ACTIONSYNC_OUTPUT"}, true},
		{"export --help", []string{"export", "--help"}, 0, []string{"--out, $ACTIONSYNC_OUT", "--force, $ACTIONSYNC_FORCE", "--owner, $ACTIONSYNC_OWNER"}, true},
		{"help sync", []string{"help", "sync"}, 0, []string{"usage: actionsync sync [flags]", "--dry-run, $ACTIONSYNC_DRY_RUN"}, false},
		{"sync --help", []string{"sync", "--help"}, 0, []string{"--once, $ACTIONSYNC_ONCE", "--repo, $ACTIONSYNC_REPO"}, true},
		{"local-tenant --help", []string{"local-tenant", "--help"}, 0, []string{"--build-delay, $ACTIONSYNC_BUILD_DELAY"}, true},
		{"unknown", []string{"frobnicate"}, 1, []string{`unknown command "frobnicate"`}, true},
		{"stray argument", []string{"sync", "--dry-run", "--repo", ".", "extra"}, 1, []string{`unexpected argument "extra"`}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, t.TempDir(), nil, tc.args...)
			out := r.stdout
			if tc.inStderr {
				out = r.stderr
			}
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
