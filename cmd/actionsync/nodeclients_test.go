package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
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

const nodeDir = "../../test/nodeclients"

// nodeModules installs Auth0's Node tooling (pinned in package-lock.json)
// from the npm registry, once.
func nodeModules(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "auth0-deploy-cli")); err == nil {
		return
	}
	cmd := exec.CommandContext(context.Background(), "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = nodeDir
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("npm ci in test/nodeclients: %v\n%s", err, out)
	}
}

// localTenantTLS runs `actionsync local-tenant --tls` and returns its
// address, the certificate file and the request log file.
func localTenantTLS(t *testing.T) (addr, cert, reqLog string) {
	t.Helper()
	cert = filepath.Join(t.TempDir(), "cert.pem")
	url, reqLog := localTenantProcess(t, "--tls", "--cert", cert, "--build-delay", "200ms")
	return strings.TrimPrefix(url, "https://"), cert, reqLog
}

// localTenantProcess runs `actionsync local-tenant` on a loopback port with
// a request log, client credentials cid/csec and args, until the test ends
// (SIGTERM), and returns its URL and the request log file.
func localTenantProcess(tb testing.TB, args ...string) (url, reqLog string) {
	tb.Helper()
	reqLog = filepath.Join(tb.TempDir(), "requests.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	args = append([]string{"local-tenant", "--listen", "127.0.0.1:0", "--request-log", reqLog, "--client-id", "cid", "--client-secret", "csec"}, args...)
	cmd := exec.CommandContext(ctx, binary, args...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		cancel()
	})
	sc := bufio.NewScanner(stderr)
	for url == "" && sc.Scan() {
		var line struct{ URL string }
		json.Unmarshal(sc.Bytes(), &line)
		url = line.URL
	}
	go io.Copy(io.Discard, stderr)
	if url == "" {
		tb.Fatal("local-tenant never said where it listens")
	}
	return url, reqLog
}

func node(tb testing.TB, env []string, dir string, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("node %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func readLog(tb testing.TB, path string) []localtenant.Request {
	tb.Helper()
	b, _ := os.ReadFile(path)
	var out []localtenant.Request
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r localtenant.Request
		if json.Unmarshal([]byte(l), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// TestNodeClients runs Auth0's Node management SDK and its deploy CLI,
// unchanged, against `actionsync local-tenant --tls`.
func TestNodeClients(t *testing.T) {
	nodeModules(t)
	addr, cert, reqLog := localTenantTLS(t)
	env := []string{"AUTH0_DOMAIN=" + addr, "AUTH0_CLIENT_ID=cid", "AUTH0_CLIENT_SECRET=csec", "NODE_EXTRA_CA_CERTS=" + cert}
	abs, _ := filepath.Abs(nodeDir)

	t.Run("management SDK", func(t *testing.T) {
		out := node(t, env, abs, "sdk.mjs")
		var got struct {
			Status              string
			SecretValueReturned bool
			Deployed            int
			Listed, Bindings    []string
			Versions            []int
			Rollback, Triggers  int
			DeleteWhileBound    int
		}
		if err := json.Unmarshal([]byte(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]), &got); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if got.Status != "built" || got.SecretValueReturned || got.Deployed != 1 || got.Rollback != 2 ||
			got.DeleteWhileBound != 409 || len(got.Bindings) != 1 || got.Triggers < 10 {
			t.Errorf("SDK saw %+v", got)
		}
	})

	t.Run("deploy CLI", func(t *testing.T) {
		work := t.TempDir()
		a0deploy := filepath.Join(abs, "node_modules", "auth0-deploy-cli", "lib", "index.js")
		config := `{"AUTH0_DOMAIN":"` + addr + `","AUTH0_CLIENT_ID":"cid","AUTH0_CLIENT_SECRET":"csec","AUTH0_INCLUDED_ONLY":["actions","triggers"],"AUTH0_ALLOW_DELETE":false}`
		os.WriteFile(filepath.Join(work, "config.json"), []byte(config), 0o600)
		os.MkdirAll(filepath.Join(work, "actions", "from-deploy-cli"), 0o755)
		os.WriteFile(filepath.Join(work, "actions", "from-deploy-cli", "code.js"), []byte("exports.onExecuteCredentialsExchange = async () => {};\n"), 0o644)
		os.WriteFile(filepath.Join(work, "tenant.yaml"), []byte(`actions:
  - name: from-deploy-cli
    code: ./actions/from-deploy-cli/code.js
    dependencies: []
    deployed: true
    runtime: node22
    secrets: []
    status: built
    supported_triggers:
      - id: credentials-exchange
        version: v2
triggers:
  credentials-exchange:
    - action_name: from-deploy-cli
      display_name: From the deploy CLI
`), 0o644)
		before := len(tenanttest.Writes(readLog(t, reqLog)))
		out := node(t, env, work, a0deploy, "import", "-c", "config.json", "-i", "tenant.yaml", "--dry-run")
		if !strings.Contains(out, "CREATE") || !strings.Contains(out, "from-deploy-cli") {
			t.Errorf("dry run did not plan the create:\n%s", out)
		}
		if n := len(tenanttest.Writes(readLog(t, reqLog))) - before; n != 0 {
			t.Errorf("the deploy CLI's dry run made %d writes", n)
		}
		out = node(t, env, work, a0deploy, "import", "-c", "config.json", "-i", "tenant.yaml")
		if !strings.Contains(out, "Import Successful") {
			t.Fatalf("import:\n%s", out)
		}
		node(t, env, work, a0deploy, "export", "-c", "config.json", "-f", "yaml", "-o", "out")
		exported, _ := os.ReadFile(filepath.Join(work, "out", "tenant.yaml"))
		for _, want := range []string{"name: from-deploy-cli", "deployed: true", "display_name: From the deploy CLI"} {
			if !strings.Contains(string(exported), want) {
				t.Errorf("export lacks %q:\n%s", want, exported)
			}
		}
	})
}
