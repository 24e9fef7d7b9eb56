package daemon_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/daemon"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/source"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/sync"
	"github.com/actionsync/actionsync/internal/tenant"
	"github.com/actionsync/actionsync/internal/transport"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// origin is a bare repository reached by file:// URL, and a working tree
// that pushes to it.
type origin struct {
	t    testing.TB
	bare string
	dir  string
	repo *git.Repository
}

func newOrigin(t testing.TB) *origin {
	t.Helper()
	root := t.TempDir()
	o := &origin{t: t, bare: filepath.Join(root, "origin.git"), dir: filepath.Join(root, "work")}
	init := &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}, Bare: true}
	if _, err := git.PlainInitWithOptions(o.bare, init); err != nil {
		t.Fatal(err)
	}
	init.Bare = false
	r, err := git.PlainInitWithOptions(o.dir, init)
	if err != nil {
		t.Fatal(err)
	}
	r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{o.bare}})
	o.repo = r
	return o
}

func (o *origin) url() string { return "file://" + o.bare }

func (o *origin) commit(files map[string]string) plumbing.Hash {
	o.t.Helper()
	for name, content := range files {
		p := filepath.Join(o.dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	wt, _ := o.repo.Worktree()
	wt.AddWithOptions(&git.AddOptions{All: true})
	h, err := wt.Commit("change", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}})
	if err != nil {
		o.t.Fatal(err)
	}
	return h
}

func (o *origin) push() {
	o.t.Helper()
	err := o.repo.Push(&git.PushOptions{RemoteName: "origin", Force: true,
		RefSpecs: []config.RefSpec{"+refs/heads/main:refs/heads/main"}})
	if err != nil && err != git.NoErrAlreadyUpToDate {
		o.t.Fatal(err)
	}
}

// resetTo moves main back to h, as `git reset --hard h`.
func (o *origin) resetTo(h plumbing.Hash) {
	o.t.Helper()
	wt, _ := o.repo.Worktree()
	if err := wt.Reset(&git.ResetOptions{Commit: h, Mode: git.HardReset}); err != nil {
		o.t.Fatal(err)
	}
}

func actionFiles(code string) map[string]string {
	return map[string]string{
		"actions/greet/action.yaml": "trigger:\n  id: post-login\n  version: v3\n",
		"actions/greet/index.js":    code,
		"triggers.yaml":             "post-login:\n  - greet\n",
	}
}

const (
	codeA = "exports.onExecutePostLogin = async () => {}; // A\n"
	codeB = "exports.onExecutePostLogin = async () => {}; // B\n"
)

type harness struct {
	t      testing.TB
	srv    *tenanttest.Server
	api    *management.Management
	d      *daemon.Daemon
	base   string
	secret string
	stop   context.CancelFunc
	done   chan error
	heads  *atomic.Int64 // Git checks made
}

func start(t testing.TB, o *origin, drift time.Duration) *harness {
	return startWith(t, o, 30*time.Millisecond, drift, 10*time.Millisecond)
}

// startWith starts a daemon on o; opts change its configuration.
func startWith(t testing.TB, o *origin, interval, drift, build time.Duration, opts ...func(*daemon.Config)) *harness {
	t.Helper()
	return startOn(t, tenanttest.Start(t, localtenant.Options{BuildDelay: build, Node: "-"}), o, interval, drift, build, opts...)
}

// startOn starts a daemon following o into the tenant srv; opts change its
// configuration.
func startOn(t testing.TB, srv *tenanttest.Server, o *origin, interval, drift, build time.Duration, opts ...func(*daemon.Config)) *harness {
	t.Helper()
	metrics := daemon.NewMetrics()
	client := &http.Client{Transport: transport.New(srv.HTTP.Transport, transport.Options{Observe: metrics.Observer(""), Attempts: 2})}
	api := srv.NewClient(t, management.WithClient(client), management.WithNoRetries())
	src := &source.Remote{URL: o.url(), Branch: "main", Dir: t.TempDir()}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	secretFile := filepath.Join(t.TempDir(), "webhook-secret")
	os.WriteFile(secretFile, []byte("hook-secret\n"), 0o600)
	heads := &atomic.Int64{}
	head := func(ctx context.Context) (string, error) { heads.Add(1); return src.Head(ctx) }
	cfg := daemon.Config{
		Engine: sync.New(api, src, sync.Options{Poll: max(5*time.Millisecond, build/4), Logger: log}),
		Head:   head, Interval: interval, DriftInterval: drift,
		Listen: "127.0.0.1:0", WebhookSecretFile: secretFile, Metrics: metrics, Logger: log,
		MaxBackoff: 100 * time.Millisecond,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	d := daemon.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, srv: srv, api: api, d: d, secret: "hook-secret", stop: cancel, done: make(chan error, 1), heads: heads}
	go func() { h.done <- d.Run(ctx) }()
	h.base = "http://" + d.Addr().String()
	t.Cleanup(func() {
		cancel()
		<-h.done
	})
	return h
}

// eventually polls cond until it holds or the deadline passes.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	waitFor(h.t, what, cond)
}

// liveCode is the deployed code of the greet action, or "".
func (h *harness) liveCode() string { return deployedCode(h.api) }

// startLive pushes codeA to a new origin, starts a daemon following it with
// the given drift interval, and waits until codeA is live.
func startLive(t *testing.T, drift time.Duration) (*origin, *harness) {
	t.Helper()
	o := newOrigin(t)
	o.commit(actionFiles(codeA))
	o.push()
	h := start(t, o, drift)
	h.eventually("live", func() bool { return h.liveCode() == codeA })
	return o, h
}

func (h *harness) get(path string) (int, string) {
	resp, err := http.Get(h.base + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (h *harness) metric(name string) string {
	_, body := h.get("/metrics")
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, name) {
			return l
		}
	}
	return ""
}

func TestPushGoesLive(t *testing.T) {
	o := newOrigin(t)
	a := o.commit(actionFiles(codeA))
	o.push()
	h := start(t, o, time.Hour)
	h.eventually("the first commit live", func() bool { return h.liveCode() == codeA })
	h.eventually("ready", func() bool { code, _ := h.get("/readyz"); return code == 200 })
	if code, _ := h.get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}

	h.eventually("settled", func() bool { return h.metric(`actionsync_reconcile_total{result="success"} 1`) != "" })
	h.srv.ResetRequests()
	o.commit(actionFiles(codeB))
	o.push()
	h.eventually("the pushed commit live", func() bool { return h.liveCode() == codeB })
	h.eventually("the push's reconcile recorded", func() bool {
		return h.metric(`actionsync_reconcile_total{result="success"} 2`) != ""
	})
	if got := writeRoutes(h.srv); strings.Join(got, ", ") != "PATCH /api/v2/actions/actions/{id}, POST /api/v2/actions/actions/{id}/deploy" {
		t.Errorf("the push made writes %q, want one update and one deploy", got)
	}

	// The branch moves back (a force-push of an older commit): followed.
	o.resetTo(a)
	o.push()
	h.eventually("the branch moved back", func() bool { return h.liveCode() == codeA })
	h.eventually("the last applied commit recorded", func() bool {
		return h.metric(`actionsync_last_applied_info{commit="`+a.String()+`"}`) != ""
	})
	if m := h.metric(`actionsync_auth0_requests_total{code="200",route="POST /api/v2/actions/actions/{id}/versions/{id}/deploy"}`); m == "" {
		t.Errorf("the move back was not a rollback; metrics lack the rollback route")
	}
}

func TestDriftHealed(t *testing.T) {
	_, h := startLive(t, 150*time.Millisecond)
	l, _ := h.api.Action.List(context.Background(), management.Parameter("actionName", "greet"))
	id := l.Actions[0].GetID()
	edit := &management.Action{Name: auth0.String("greet"), SupportedTriggers: l.Actions[0].SupportedTriggers, Code: auth0.String("// edited in the dashboard\n")}
	if err := h.api.Action.Update(context.Background(), id, edit); err != nil {
		t.Fatal(err)
	}
	h.eventually("the dashboard edit built", func() bool {
		a, _ := h.api.Action.Read(context.Background(), id)
		return a.GetStatus() == string(tenant.StatusBuilt)
	})
	if _, err := h.api.Action.Deploy(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	h.eventually("the edit healed", func() bool {
		a, _ := h.api.Action.Read(context.Background(), id)
		return stamp.Body(a.GetCode()) == codeA && h.liveCode() == codeA
	})
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestWebhook(t *testing.T) {
	_, h := startLive(t, time.Hour)
	h.eventually("settled", func() bool { return h.metric(`actionsync_reconcile_total{result="success"} 1`) != "" })
	body := []byte(`{"ref":"refs/heads/main"}`)
	for _, tc := range []struct {
		name, sig string
		want      int
	}{
		{"no signature", "", 401},
		{"wrong secret", sign("other", body), 401},
		{"not hex", "sha256=zz", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.srv.ResetRequests()
			if got := h.postWebhook(body, tc.sig); got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
		})
	}
	if m := h.metric(`actionsync_reconcile_total{result="success"}`); m != `actionsync_reconcile_total{result="success"} 1` {
		t.Errorf("a bad webhook caused a reconcile: %s", m)
	}
	if w := writeRoutes(h.srv); len(w) != 0 {
		t.Errorf("bad webhooks made writes: %q", w)
	}
	req, _ := http.NewRequest("POST", h.base+"/webhook", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", sign(h.secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("signed webhook: %v %v", err, resp.Status)
	}
	h.eventually("the webhook's reconcile", func() bool {
		return h.metric(`actionsync_reconcile_total{result="success"} 2`) != ""
	})
}

func TestRemoteGoesAwayAndComesBack(t *testing.T) {
	o, h := startLive(t, time.Hour)
	moved := o.bare + ".away"
	if err := os.Rename(o.bare, moved); err != nil {
		t.Fatal(err)
	}
	h.eventually("a failed check counted", func() bool {
		m := h.metric("actionsync_source_errors_total")
		return m != "" && m != "actionsync_source_errors_total 0"
	})
	if h.liveCode() != codeA {
		t.Fatal("the tenant changed while the remote was away")
	}
	os.Rename(moved, o.bare)
	o.commit(actionFiles(codeB))
	o.push()
	h.eventually("the commit after the outage live", func() bool { return h.liveCode() == codeB })
}

func TestStopsOnCancel(t *testing.T) {
	_, h := startLive(t, time.Hour)
	h.stop()
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
		h.done <- err // for Cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// writeRoutes is the tenant's write requests since its log was reset, as
// sorted routes.
func writeRoutes(srv *tenanttest.Server) []string {
	var out []string
	for _, r := range tenanttest.Writes(srv.Requests()) {
		out = append(out, transport.Route(r.Method, r.Path))
	}
	slices.Sort(out)
	return out
}
