package node_test

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/actionsync/actionsync/internal/node"
)

var lodash = []node.Dependency{{Name: "lodash", Version: "4.17.21"}}

// countingNPM returns the path of an npm that counts its runs in a file,
// then runs the real npm, and a function that reads the count.
func countingNPM(tb testing.TB) (string, func() int) {
	tb.Helper()
	real, err := exec.LookPath("npm")
	if err != nil {
		tb.Fatal("npm is needed to install dependencies; .ci/run installs it")
	}
	dir := tb.TempDir()
	count := filepath.Join(dir, "runs")
	script := "#!/bin/sh\necho run >> '" + count + "'\nexec '" + real + "' \"$@\"\n"
	path := filepath.Join(dir, "npm")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		tb.Fatal(err)
	}
	return path, func() int {
		b, _ := os.ReadFile(count)
		return strings.Count(string(b), "run")
	}
}

func TestDependenciesInstallOnce(t *testing.T) {
	needNode(t)
	npm, runs := countingNPM(t)
	cache := t.TempDir()
	uses := login("uses", `const _ = require("lodash");
exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim("v", _.VERSION); };`)
	uses.Dependencies = lodash
	lacks := login("lacks", `exports.onExecutePostLogin = async () => { require("lodash"); };`)

	r := &node.Runner{NPM: npm, Cache: cache}
	var wg sync.WaitGroup
	results := make([]*node.Result, 2)
	for i := range results {
		wg.Go(func() { results[i] = run(t, r, nil, uses) })
	}
	wg.Wait()
	for i, res := range results {
		if got := calls(res); got != `uses: idToken.setCustomClaim["v","4.17.21"]` {
			t.Errorf("run %d: calls %q error %+v, want lodash's version", i, got, res.Error)
		}
	}
	if n := runs(); n != 1 {
		t.Errorf("npm ran %d times for two runs needing one set, want 1", n)
	}

	again := run(t, &node.Runner{NPM: npm, Cache: cache}, nil, uses, lacks)
	if n := runs(); n != 1 {
		t.Errorf("npm ran %d times after another runner reused the cache, want 1", n)
	}
	if again.Error == nil || again.Error.Action != "lacks" || !strings.Contains(again.Error.Message, "Cannot find module 'lodash'") {
		t.Errorf("an action without the dependency: %+v, want it unable to require lodash", again.Error)
	}
	entries, _ := os.ReadDir(cache)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("a temporary install is left in the cache: %s", e.Name())
		}
	}
}

// TestHalfWrittenEntryIgnored leaves what a killed install leaves and
// checks that the next run installs afresh rather than using it.
func TestHalfWrittenEntryIgnored(t *testing.T) {
	needNode(t)
	npm, runs := countingNPM(t)
	cache := t.TempDir()
	uses := login("uses", `exports.onExecutePostLogin = async (e, api) => { api.v(require("lodash").VERSION); };`)
	uses.Dependencies = lodash
	r := &node.Runner{NPM: npm, Cache: cache}
	run(t, r, nil, uses)
	entries, _ := os.ReadDir(cache)
	var key string
	for _, e := range entries {
		if e.IsDir() {
			key = e.Name()
		}
	}
	if key == "" {
		t.Fatalf("no cache entry in %v", entries)
	}
	// A killed install: its temporary directory without node_modules, and
	// no entry in place.
	os.RemoveAll(filepath.Join(cache, key))
	os.MkdirAll(filepath.Join(cache, ".tmp-"+key+"-123", "node_modules"), 0o755)
	res := run(t, &node.Runner{NPM: npm, Cache: cache}, nil, uses)
	if got := calls(res); got != `uses: v["4.17.21"]` || runs() != 2 {
		t.Errorf("after a killed install: calls %q, npm runs %d; want a fresh install", got, runs())
	}
	if _, err := os.Stat(filepath.Join(cache, ".tmp-"+key+"-123")); !os.IsNotExist(err) {
		t.Errorf("the killed install's leftovers are still there: %v", err)
	}
}

func TestErrors(t *testing.T) {
	needNode(t)
	closed := closedPort(t)
	t.Setenv("npm_config_fetch_retries", "0") // fail at once on a refused connection
	code := `exports.onExecutePostLogin = async () => {};`
	withDeps := func(deps ...node.Dependency) node.Action {
		a := login("a", code)
		a.Dependencies = deps
		return a
	}
	tests := []struct {
		name    string
		runner  *node.Runner
		action  node.Action
		want    error
		wantMsg string
	}{
		{"node missing", &node.Runner{Node: "/nonexistent/node"}, login("a", code), node.ErrNoNode, "/nonexistent/node"},
		{"npm missing", &node.Runner{NPM: "/nonexistent/npm", Cache: t.TempDir()}, withDeps(lodash...), node.ErrNoNPM, "install lodash@4.17.21"},
		{"registry unreachable", &node.Runner{Cache: t.TempDir(), Registry: "http://" + closed + "/"}, withDeps(lodash...), node.ErrRegistry, "ECONNREFUSED"},
		{"no such version", &node.Runner{Cache: t.TempDir()}, withDeps(node.Dependency{Name: "lodash", Version: "99.99.99"}), node.ErrInstall, "lodash@99.99.99"},
		{"no cache", &node.Runner{}, withDeps(lodash...), nil, "no dependency cache"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.runner.Run(t.Context(), nil, tc.action)
			if err == nil || res != nil {
				t.Fatalf("got result %+v, error %v; want an error", res, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q, want it to mention %q", err, tc.wantMsg)
			}
		})
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestRelativeCache: a cache named relative to the working directory (the
// CLI's .actionsync/npm) is found by node, which runs elsewhere.
func TestRelativeCache(t *testing.T) {
	needNode(t)
	npm, _ := countingNPM(t)
	t.Chdir(t.TempDir())
	uses := login("uses", `const _ = require("lodash");
exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim("v", _.VERSION); };`)
	uses.Dependencies = lodash
	res := run(t, &node.Runner{NPM: npm, Cache: filepath.Join(".actionsync", "npm")}, nil, uses)
	if got := calls(res); got != `uses: idToken.setCustomClaim["v","4.17.21"]` {
		t.Errorf("calls %q error %+v, want lodash's version", got, res.Error)
	}
}
