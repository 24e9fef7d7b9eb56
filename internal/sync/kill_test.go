package sync_test

import (
	"context"
	"fmt"
	"net/http"
	gosync "sync"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/sync"
	"github.com/actionsync/actionsync/internal/transport"
	"github.com/auth0/go-auth0/management"
)

// killAfter cancels a context once the n-th write request has been sent,
// as a process killed mid-sync would stop.
type killAfter struct {
	base   http.RoundTripper
	mu     gosync.Mutex
	n      int
	cancel context.CancelFunc
}

func (k *killAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := k.base.RoundTrip(r)
	if r.Method != http.MethodGet && r.URL.Path != "/oauth/token" {
		k.mu.Lock()
		k.n--
		if k.n == 0 {
			k.cancel()
		}
		k.mu.Unlock()
	}
	return resp, err
}

// TestKilledAtAnyPoint stops a first sync after each of its first writes in
// turn, then runs again: every time the tenant converges, with no duplicate
// and the bindings in order.
func TestKilledAtAnyPoint(t *testing.T) {
	for kill := 1; kill <= 10; kill++ {
		t.Run(fmt.Sprintf("after write %d", kill), func(t *testing.T) {
			f := newFixture(t, exampleFiles(t), localtenant.Options{BuildDelay: 30 * time.Millisecond})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			k := &killAfter{base: transport.New(f.srv.HTTP.Transport, transport.Options{}), n: kill, cancel: cancel}
			killed := f.srv.NewClient(t, management.WithClient(&http.Client{Transport: k}), management.WithNoRetries())
			opts := sync.Options{Poll: 5 * time.Millisecond, SecretKey: []byte("fixture-secret-key"), Manifest: f.env.opts()}
			planAndApply(ctx, sync.New(killed, sourceOf(f), opts))

			if _, _, err := f.reconcile(sync.Options{}); err != nil {
				t.Fatalf("the run after the kill: %v", err)
			}
			assertSteady(t, f)
			l, _ := f.api.Action.List(t.Context())
			if l.Total != 4 {
				t.Errorf("%d actions, want 4", l.Total)
			}
		})
	}
}
