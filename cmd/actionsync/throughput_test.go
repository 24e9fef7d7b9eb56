package main_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The benchmarks here run `actionsync local-tenant` and the syncs as
// processes of their own, at real build times and rate limits. Each takes
// minutes; run them alone, with -benchtime 1x (docs/BENCHMARKS.md).

const (
	benchBuild = 10 * time.Second
	benchBound = 10 // actions bound to post-login, the first ones by name
)

// writeBenchRepo writes a repo of n post-login actions whose code carries
// gen, the first benchBound of them bound in order.
func writeBenchRepo(tb testing.TB, dir string, n, gen int) {
	tb.Helper()
	triggers := "post-login:\n"
	for i := range n {
		name := fmt.Sprintf("action-%03d", i)
		os.MkdirAll(filepath.Join(dir, "actions", name), 0o755)
		os.WriteFile(filepath.Join(dir, "actions", name, "action.yaml"), []byte("trigger:\n  id: post-login\n  version: v3\n"), 0o644)
		code := fmt.Sprintf("exports.onExecutePostLogin = async (event, api) => { /* %s, generation %d */ };\n", name, gen)
		if err := os.WriteFile(filepath.Join(dir, "actions", name, "index.js"), []byte(code), 0o644); err != nil {
			tb.Fatal(err)
		}
		if i < benchBound {
			triggers += "  - " + name + "\n"
		}
	}
	os.WriteFile(filepath.Join(dir, "triggers.yaml"), []byte(triggers), 0o644)
}

// measured is one sync as the tenant's request log saw it.
type measured struct {
	wall     time.Duration
	requests int // API requests, 429s included; no token requests
	writes   int
	refused  int // answered 429
	minimal  int // the calls no sync can avoid
	limit    time.Duration
}

// since counts the API requests of the log after its first mark entries.
func since(tb testing.TB, reqLog string, mark int) measured {
	var m measured
	for _, r := range readLog(tb, reqLog)[mark:] {
		if r.Path == "/oauth/token" {
			continue
		}
		m.requests++
		if r.Method != http.MethodGet {
			m.writes++
		}
		if r.Status == http.StatusTooManyRequests {
			m.refused++
		}
	}
	return m
}

// timed runs cmd, fails the benchmark unless it exits 0, and measures it
// from the request log. minimal is the calls no sync can avoid; the limit
// is one build and those calls at the rate limit.
func timed(tb testing.TB, cmd *exec.Cmd, reqLog string, minimal, rate int) measured {
	tb.Helper()
	mark := len(readLog(tb, reqLog))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s: %v\n%s", cmd.Args, err, out.String())
	}
	m := since(tb, reqLog, mark)
	m.wall, m.minimal = time.Since(start), minimal
	m.limit = benchBuild + time.Duration(minimal)*time.Second/time.Duration(rate)
	return m
}

func onceCmd(tb testing.TB, env []string, repo string) *exec.Cmd {
	cmd := exec.Command(binary, "--once", "--repo", repo, "--log-format", "json")
	cmd.Dir = tb.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + tb.TempDir()}, env...)
	return cmd
}

// minimalFromEmpty is what a first sync of n actions cannot avoid: the
// trigger catalogue, one page of actions and the bindings read, a create
// and a deploy per action, and the bindings write.
func minimalFromEmpty(n int) int { return 3 + 2*n + 1 }

// minimalEdit is what a sync that changes every action's code cannot
// avoid: the catalogue, the pages of actions, the bindings read, an update
// and a deploy per action.
func minimalEdit(n int) int { return 2 + (n+99)/100 + 2*n }

func report(b *testing.B, phase string, m measured) {
	b.ReportMetric(m.wall.Seconds(), phase+"-s")
	b.ReportMetric(m.wall.Seconds()/m.limit.Seconds(), phase+"-wall/limit")
	b.ReportMetric(float64(m.requests)/float64(m.minimal), phase+"-requests/minimal")
	b.Logf("| %s | %.1f s | %.1f s | %.2f | %d | %d | %.2f | %d |", phase, m.wall.Seconds(), m.limit.Seconds(),
		m.wall.Seconds()/m.limit.Seconds(), m.requests, m.minimal, float64(m.requests)/float64(m.minimal), m.refused)
}

// BenchmarkThroughput syncs n actions into an empty `actionsync
// local-tenant --build-delay 10s --rate-limit R`, then an edit of every
// action, each with `actionsync --once` as a process, and reports the wall
// time and the requests against the limit: one build, and the calls no
// sync can avoid at the rate limit.
func BenchmarkThroughput(b *testing.B) {
	for _, tc := range []struct{ n, rate int }{{30, 10}, {60, 10}, {100, 10}, {30, 2}} {
		b.Run(fmt.Sprintf("actions=%d/rate=%d", tc.n, tc.rate), func(b *testing.B) {
			for range b.N {
				url, reqLog := localTenantProcess(b, "--build-delay", benchBuild.String(), "--rate-limit", strconv.Itoa(tc.rate))
				env := []string{"AUTH0_DOMAIN=" + url, "AUTH0_CLIENT_ID=cid", "AUTH0_CLIENT_SECRET=csec"}
				repo := b.TempDir()
				writeBenchRepo(b, repo, tc.n, 0)
				empty := timed(b, onceCmd(b, env, repo), reqLog, minimalFromEmpty(tc.n), tc.rate)
				writeBenchRepo(b, repo, tc.n, 1)
				edit := timed(b, onceCmd(b, env, repo), reqLog, minimalEdit(tc.n), tc.rate)
				b.Logf("| phase | wall | limit | wall/limit | requests | minimal | requests/minimal | 429s |")
				report(b, "empty", empty)
				report(b, "edit", edit)
			}
		})
	}
}

// writeDeployCLIRepo writes the same n actions in auth0-deploy-cli's
// format: tenant.yaml, the code files, and config.json for the tenant at
// addr.
func writeDeployCLIRepo(tb testing.TB, dir, addr string, n int) {
	tb.Helper()
	var y strings.Builder
	y.WriteString("actions:\n")
	for i := range n {
		name := fmt.Sprintf("action-%03d", i)
		os.MkdirAll(filepath.Join(dir, "actions", name), 0o755)
		code := fmt.Sprintf("exports.onExecutePostLogin = async (event, api) => { /* %s, generation 0 */ };\n", name)
		os.WriteFile(filepath.Join(dir, "actions", name, "code.js"), []byte(code), 0o644)
		fmt.Fprintf(&y, "  - name: %s\n    code: ./actions/%s/code.js\n    dependencies: []\n    deployed: true\n    runtime: node22\n    secrets: []\n    status: built\n    supported_triggers:\n      - id: post-login\n        version: v3\n", name, name)
	}
	y.WriteString("triggers:\n  post-login:\n")
	for i := range benchBound {
		fmt.Fprintf(&y, "    - action_name: action-%03d\n      display_name: action-%03d\n", i, i)
	}
	os.WriteFile(filepath.Join(dir, "tenant.yaml"), []byte(y.String()), 0o644)
	config := `{"AUTH0_DOMAIN":"` + addr + `","AUTH0_CLIENT_ID":"cid","AUTH0_CLIENT_SECRET":"csec","AUTH0_INCLUDED_ONLY":["actions","triggers"],"AUTH0_ALLOW_DELETE":false}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkVersusDeployCLI syncs the same 30 actions (10 bound) into two
// empty `actionsync local-tenant --tls --build-delay 10s --rate-limit 10`,
// one with `actionsync --once`, one with auth0-deploy-cli 8.44's `import`
// (the pinned copy in test/nodeclients), then runs each again unchanged.
func BenchmarkVersusDeployCLI(b *testing.B) {
	const n, rate = 30, 10
	nodeModules(b)
	a0deploy, _ := filepath.Abs(filepath.Join(nodeDir, "node_modules", "auth0-deploy-cli", "lib", "index.js"))
	tenant := func() (addr, cert, reqLog string) {
		cert = filepath.Join(b.TempDir(), "cert.pem")
		url, reqLog := localTenantProcess(b, "--tls", "--cert", cert, "--build-delay", benchBuild.String(), "--rate-limit", strconv.Itoa(rate))
		return strings.TrimPrefix(url, "https://"), cert, reqLog
	}
	for range b.N {
		addr, cert, reqLog := tenant()
		env := []string{"AUTH0_DOMAIN=" + addr, "AUTH0_CLIENT_ID=cid", "AUTH0_CLIENT_SECRET=csec", "SSL_CERT_FILE=" + cert}
		repo := b.TempDir()
		writeBenchRepo(b, repo, n, 0)
		ours := timed(b, onceCmd(b, env, repo), reqLog, minimalFromEmpty(n), rate)
		oursAgain := timed(b, onceCmd(b, env, repo), reqLog, 0, rate)

		addr, cert, reqLog = tenant()
		work := b.TempDir()
		writeDeployCLIRepo(b, work, addr, n)
		importCmd := func() *exec.Cmd {
			cmd := exec.Command("node", a0deploy, "import", "-c", "config.json", "-i", "tenant.yaml")
			cmd.Dir = work
			cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+cert)
			return cmd
		}
		theirs := timed(b, importCmd(), reqLog, minimalFromEmpty(n), rate)
		theirsAgain := timed(b, importCmd(), reqLog, 0, rate)

		b.ReportMetric(ours.wall.Seconds(), "actionsync-s")
		b.ReportMetric(theirs.wall.Seconds(), "deploy-cli-s")
		b.ReportMetric(ours.wall.Seconds()/theirs.wall.Seconds(), "actionsync/deploy-cli")
		b.ReportMetric(float64(oursAgain.writes), "actionsync-rerun-writes")
		b.ReportMetric(float64(theirsAgain.writes), "deploy-cli-rerun-writes")
		b.Logf("| tool | first sync | requests | 429s | unchanged re-run | its requests | its writes |")
		for _, row := range []struct {
			tool         string
			first, again measured
		}{{"actionsync --once", ours, oursAgain}, {"auth0-deploy-cli 8.44 import", theirs, theirsAgain}} {
			b.Logf("| %s | %.1f s | %d | %d | %.1f s | %d | %d |", row.tool, row.first.wall.Seconds(), row.first.requests,
				row.first.refused, row.again.wall.Seconds(), row.again.requests, row.again.writes)
		}
		b.Logf("limit: %.1f s; actionsync / deploy-cli = %.2f", ours.limit.Seconds(), ours.wall.Seconds()/theirs.wall.Seconds())
	}
}
