package daemon_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/daemon"
	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/sync"
)

// counting plans nothing to change and counts its plans.
type counting struct{ plans atomic.Int32 }

func (c *counting) Plan(context.Context) (*sync.Plan, error) {
	c.plans.Add(1)
	return &sync.Plan{Revision: "r", Changes: &diff.Plan{}}, nil
}

func (c *counting) Apply(_ context.Context, p *sync.Plan) (*sync.Result, error) {
	return &sync.Result{Revision: p.Revision, Plan: p.Changes}, nil
}

// TestWebhookReconcilesTheEnvironmentsOfItsBranch: a signed push
// reconciles the environments that follow its branch, and only those; a
// push to a branch none follows reconciles nothing; a ping (no ref)
// reconciles every one.
func TestWebhookReconcilesTheEnvironmentsOfItsBranch(t *testing.T) {
	dev, prod := &counting{}, &counting{}
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("s3cret"), 0o600)
	d := runDaemon(t, daemon.Config{
		Environments: []daemon.Environment{{Name: "dev", Engine: dev, Ref: "main"}, {Name: "prod", Engine: prod, Ref: "release"}},
		Interval:     time.Hour, DriftInterval: time.Hour, Listen: "127.0.0.1:0", WebhookSecretFile: secret,
	})
	base := "http://" + d.Addr().String()
	waitFor(t, "both started", func() bool { return dev.plans.Load() == 1 && prod.plans.Load() == 1 })
	post := func(body string) string {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/webhook", bytes.NewReader([]byte(body)))
		req.Header.Set("X-Hub-Signature-256", sign("s3cret", []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("webhook: %v %v", err, resp)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(b))
	}
	for _, tc := range []struct {
		name, body, answer string
		dev, prod          int32
	}{
		{"a push to release", `{"ref":"refs/heads/release"}`, "reconcile queued: prod", 1, 2},
		{"a push to a feature branch", `{"ref":"refs/heads/feature"}`, "no environment follows refs/heads/feature", 1, 2},
		{"a tag", `{"ref":"refs/tags/main"}`, "no environment follows refs/tags/main", 1, 2},
		{"a push to main", `{"ref":"refs/heads/main"}`, "reconcile queued: dev", 2, 2},
		{"a ping", `{"zen":"hi"}`, "reconcile queued: dev, prod", 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := post(tc.body); got != tc.answer {
				t.Errorf("answer %q, want %q", got, tc.answer)
			}
			waitFor(t, "the reconciles", func() bool { return dev.plans.Load() == tc.dev && prod.plans.Load() == tc.prod })
		})
	}
	for path, want := range map[string]int{"/readyz/dev": 200, "/readyz/prod": 200, "/readyz/staging": 404, "/readyz": 200} {
		resp, err := http.Get(base + path)
		if err != nil || resp.StatusCode != want {
			t.Errorf("GET %s: %v %v, want %d", path, err, resp, want)
		}
		resp.Body.Close()
	}
}
