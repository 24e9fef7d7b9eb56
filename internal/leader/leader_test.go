package leader_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/leader"
	"github.com/actionsync/actionsync/internal/leader/leasetest"
	"k8s.io/client-go/tools/clientcmd"
)

// replica runs one candidate until the returned cancel is called.
type replica struct {
	leading atomic.Bool
	leads   atomic.Int32
	cancel  context.CancelFunc
	done    chan error
}

func start(t *testing.T, srv *leasetest.Server, identity string, overlap *atomic.Int32) *replica {
	t.Helper()
	rest, err := clientcmd.BuildConfigFromFlags("", srv.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	r := &replica{cancel: cancel, done: make(chan error, 1)}
	cfg := leader.Config{REST: rest, Namespace: "ns", Name: "actionsync", Identity: identity,
		LeaseDuration: time.Second, RenewDeadline: 500 * time.Millisecond, RetryPeriod: 50 * time.Millisecond}
	go func() {
		r.done <- leader.Run(ctx, cfg, func(ctx context.Context) {
			if overlap.Add(1) > 1 {
				t.Errorf("%s leads while another does", identity)
			}
			r.leading.Store(true)
			r.leads.Add(1)
			<-ctx.Done()
			r.leading.Store(false)
			overlap.Add(-1)
		})
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOneLeaderAndTakeover: of two replicas one leads; when it stops, it
// releases the Lease and the other leads, never both at once.
func TestOneLeaderAndTakeover(t *testing.T) {
	srv := leasetest.Start(t)
	var overlap atomic.Int32
	a := start(t, srv, "a", &overlap)
	waitFor(t, "a leading", a.leading.Load)
	b := start(t, srv, "b", &overlap)
	// b campaigns for several retry periods and must not win while a renews.
	for range 20 {
		if b.leading.Load() {
			t.Fatal("b leads while a holds the lease")
		}
		time.Sleep(25 * time.Millisecond)
	}
	if h := srv.Holder("ns", "actionsync"); h != "a" {
		t.Errorf("holder = %q, want a", h)
	}
	a.cancel()
	if err := <-a.done; err != nil {
		t.Errorf("a's Run: %v", err)
	}
	a.done <- nil // for Cleanup
	waitFor(t, "b leading", b.leading.Load)
	if h := srv.Holder("ns", "actionsync"); h != "b" {
		t.Errorf("holder = %q, want b", h)
	}
}

// TestConfigErrors: a Lease needs an API, a namespace and a name.
func TestConfigErrors(t *testing.T) {
	err := leader.Run(t.Context(), leader.Config{Name: "x"}, func(context.Context) {})
	if err == nil {
		t.Error("Run with no API and namespace: want an error")
	}
}
