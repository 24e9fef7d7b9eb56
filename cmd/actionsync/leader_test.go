package main_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/leader/leasetest"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// remote is a bare Git repository reached by file:// URL, with a work tree
// that pushes to it.
type remote struct {
	t    *testing.T
	url  string
	work string
	repo *git.Repository
}

func newRemote(t *testing.T) *remote {
	t.Helper()
	root := t.TempDir()
	bare, work := filepath.Join(root, "origin.git"), filepath.Join(root, "work")
	init := &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}, Bare: true}
	if _, err := git.PlainInitWithOptions(bare, init); err != nil {
		t.Fatal(err)
	}
	init.Bare = false
	r, err := git.PlainInitWithOptions(work, init)
	if err != nil {
		t.Fatal(err)
	}
	r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{bare}})
	return &remote{t: t, url: "file://" + bare, work: work, repo: r}
}

// push commits the files and pushes main.
func (r *remote) push(files map[string]string) {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.work, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	wt, _ := r.repo.Worktree()
	wt.AddWithOptions(&git.AddOptions{All: true})
	if _, err := wt.Commit("change", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}}); err != nil {
		r.t.Fatal(err)
	}
	if err := r.repo.Push(&git.PushOptions{RemoteName: "origin"}); err != nil {
		r.t.Fatal(err)
	}
}

func greet(code string) map[string]string {
	return map[string]string{
		"actions/greet/action.yaml": "trigger:\n  id: post-login\n  version: v3\n",
		"actions/greet/index.js":    code,
		"triggers.yaml":             "post-login:\n  - greet\n",
	}
}

// TestLeaderElection runs two daemons with --leader-elect against a Lease
// API and one tenant: one leads and syncs, the other stands by, ready,
// without a reconcile; when the leader gets SIGTERM it releases the Lease
// and the other takes over and applies the next push.
func TestLeaderElection(t *testing.T) {
	lease := leasetest.Start(t)
	lt, env := tenantOverHTTP(t)
	env = append(env, "KUBECONFIG="+lease.Kubeconfig)
	origin := newRemote(t)
	origin.push(greet("exports.onExecutePostLogin = async () => {}; // one\n"))
	args := []string{"--repo", origin.url, "--interval", "100ms", "--leader-elect", "--leader-elect-namespace", "ns"}
	a := startDaemon(t, t.TempDir(), env, args...)
	b := startDaemon(t, t.TempDir(), env, args...)

	leading := func(d *daemon) bool { _, m := d.get("/metrics"); return strings.Contains(m, "\nactionsync_leader 1") }
	var first, second *daemon
	waitFor(t, "a leader", func() bool {
		switch {
		case leading(a):
			first, second = a, b
		case leading(b):
			first, second = b, a
		}
		return first != nil
	})
	waitFor(t, "the first push live", func() bool { return strings.Contains(liveCode(t, lt), "// one") })
	if leading(second) {
		t.Fatal("both replicas lead")
	}
	if code, body := second.get("/readyz"); code != 200 || !strings.Contains(body, "standby: the leader is "+lease.Holder("ns", "actionsync")) {
		t.Errorf("standby /readyz = %d %q", code, body)
	}
	if _, m := second.get("/metrics"); strings.Contains(m, "actionsync_reconcile_total{") {
		t.Error("the standby reconciled")
	}

	first.cmd.Process.Signal(syscall.SIGTERM)
	if err := first.cmd.Wait(); err != nil {
		t.Errorf("the leader after SIGTERM: %v", err)
	}
	waitFor(t, "the standby leading", func() bool { return leading(second) })
	origin.push(greet("exports.onExecutePostLogin = async () => {}; // two\n"))
	waitFor(t, "the second push live through the new leader", func() bool { return strings.Contains(liveCode(t, lt), "// two") })
}

// liveCode is the deployed code of every action of the tenant, read over
// its HTTP API.
func liveCode(t *testing.T, lt http.Handler) string {
	t.Helper()
	tok := httptest.NewRecorder()
	lt.ServeHTTP(tok, httptest.NewRequest("POST", "/oauth/token",
		strings.NewReader("grant_type=client_credentials&client_id=cid&client_secret=csec")))
	var token struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(tok.Body.Bytes(), &token)
	req := httptest.NewRequest("GET", "/api/v2/actions/actions", nil)
	req.Header.Set("Authorization", "Bearer "+token.AccessToken)
	list := httptest.NewRecorder()
	lt.ServeHTTP(list, req)
	var l struct {
		Actions []struct {
			Deployed *struct {
				Code string `json:"code"`
			} `json:"deployed_version"`
		} `json:"actions"`
	}
	json.Unmarshal(list.Body.Bytes(), &l)
	var b strings.Builder
	for _, a := range l.Actions {
		if a.Deployed != nil {
			b.WriteString(a.Deployed.Code)
		}
	}
	return b.String()
}
