package daemon_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/daemon"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/source"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/sync"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

// runDaemon runs a daemon until the test ends.
func runDaemon(t *testing.T, cfg daemon.Config) *daemon.Daemon {
	t.Helper()
	d := daemon.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d
}

// writeTree writes files into a new directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// waitFor polls cond until it holds or 20 seconds pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 20*time.Second, what, cond)
}

// waitWithin is waitFor with a deadline of its own.
func waitWithin(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func deployedCode(api *management.Management) string {
	l, err := api.Action.List(context.Background(), management.Parameter("actionName", "greet"))
	if err != nil || len(l.Actions) == 0 || l.Actions[0].DeployedVersion == nil {
		return ""
	}
	return stamp.Body(l.Actions[0].DeployedVersion.GetCode())
}

// TestDriftReport: with --drift=report, a dashboard edit is reported by
// the drift timer (the out-of-sync gauge) and left alone.
func TestDriftReport(t *testing.T) {
	dir := writeTree(t, actionFiles(codeA))
	srv := tenanttest.Start(t, localtenant.Options{Node: "-"})
	m := daemon.NewMetrics()
	runDaemon(t, daemon.Config{
		Engine: sync.New(srv.API, source.Dir(dir), sync.Options{Poll: 5 * time.Millisecond}), ReportDrift: true,
		DriftInterval: 100 * time.Millisecond, Metrics: m, Logger: slog.New(slog.DiscardHandler),
	})
	waitFor(t, "live", func() bool { return deployedCode(srv.API) == codeA })
	l, _ := srv.API.Action.List(context.Background(), management.Parameter("actionName", "greet"))
	edit := &management.Action{Name: auth0.String("greet"), SupportedTriggers: l.Actions[0].SupportedTriggers, Code: auth0.String("// dashboard\n")}
	if err := srv.API.Action.Update(context.Background(), l.Actions[0].GetID(), edit); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the drift reported", func() bool { return gauge(t, m, "actionsync_out_of_sync_actions") == "1" })
	a, _ := srv.API.Action.Read(context.Background(), l.Actions[0].GetID())
	if a.GetCode() != "// dashboard\n" {
		t.Error("--drift=report healed the edit")
	}
}

// TestWatchLocalDir: an edit in a watched directory is applied.
func TestWatchLocalDir(t *testing.T) {
	dir := writeTree(t, actionFiles(codeA))
	srv := tenanttest.Start(t, localtenant.Options{Node: "-"})
	runDaemon(t, daemon.Config{
		Engine: sync.New(srv.API, source.Dir(dir), sync.Options{Poll: 5 * time.Millisecond}),
		Watch:  dir, DriftInterval: time.Hour, Logger: slog.New(slog.DiscardHandler),
	})
	waitFor(t, "live", func() bool { return deployedCode(srv.API) == codeA })
	os.WriteFile(filepath.Join(dir, "actions/greet/index.js"), []byte(codeB), 0o644)
	waitFor(t, "the edit live", func() bool { return deployedCode(srv.API) == codeB })
}

func gauge(t *testing.T, m *daemon.Metrics, name string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	return ""
}

// TestSuspend: a suspended daemon writes nothing while it reports; resumed,
// it applies at once.
func TestSuspend(t *testing.T) {
	dir := writeTree(t, actionFiles(codeA))
	srv := tenanttest.Start(t, localtenant.Options{Node: "-"})
	m := daemon.NewMetrics()
	d := runDaemon(t, daemon.Config{
		Engine:        sync.New(srv.API, source.Dir(dir), sync.Options{Poll: 5 * time.Millisecond}),
		DriftInterval: 50 * time.Millisecond, Suspended: true, Metrics: m, Logger: slog.New(slog.DiscardHandler),
	})
	waitFor(t, "three suspended reconciles", func() bool {
		return strings.HasPrefix(gauge(t, m, `actionsync_reconcile_total{result="success"}`), "3")
	})
	if gauge(t, m, "actionsync_suspended") != "1" || len(tenanttest.Writes(srv.Requests())) != 0 || gauge(t, m, "actionsync_out_of_sync_actions") != "2" {
		t.Fatalf("suspended: gauge %s, %d writes, out of sync %s", gauge(t, m, "actionsync_suspended"),
			len(tenanttest.Writes(srv.Requests())), gauge(t, m, "actionsync_out_of_sync_actions"))
	}
	d.Resume()
	waitFor(t, "live after resuming", func() bool { return deployedCode(srv.API) == codeA })
}
