package daemon

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/sync"
)

// flaky fails its first n reconciles.
type flaky struct {
	n     int32
	calls atomic.Int32
}

func (f *flaky) Reconcile(ctx context.Context) (*sync.Result, error) {
	if c := f.calls.Add(1); c <= f.n {
		return nil, errors.New("tenant down")
	}
	return &sync.Result{Revision: "r", Plan: &diff.Plan{}}, nil
}

// TestRetriesWithBackoffUntilRecovered drives the loop with a clock that
// fires at once: failures are retried with growing waits, and success
// resets them and makes the daemon ready.
func TestRetriesWithBackoffUntilRecovered(t *testing.T) {
	rec := &flaky{n: 3}
	clock := fakeClock{waits: make(chan time.Duration, 100)}
	d := New(Config{Apply: rec, DriftInterval: 24 * time.Hour, Clock: clock, MaxBackoff: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for ok, _ := d.Ready(); !ok; ok, _ = d.Ready() {
		if time.Now().After(deadline) {
			t.Fatalf("never ready; %d reconciles", rec.calls.Load())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if n := rec.calls.Load(); n != 4 {
		t.Errorf("%d reconciles, want 3 failures and 1 success", n)
	}
	var retries []time.Duration
	for len(clock.waits) > 0 {
		if w := <-clock.waits; w < time.Hour {
			retries = append(retries, w)
		}
	}
	if len(retries) != 3 || retries[0] > time.Second || retries[2] < 2*time.Second {
		t.Errorf("retry waits = %v, want three growing ones", retries)
	}
}
