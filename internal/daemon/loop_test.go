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

// flaky fails its first n plans.
type flaky struct {
	n     int32
	calls atomic.Int32
}

func (f *flaky) Plan(ctx context.Context) (*sync.Plan, error) {
	if c := f.calls.Add(1); c <= f.n {
		return nil, errors.New("tenant down")
	}
	return &sync.Plan{Revision: "r", Changes: &diff.Plan{}}, nil
}

func (f *flaky) Apply(ctx context.Context, p *sync.Plan) (*sync.Result, error) {
	return &sync.Result{Revision: p.Revision, Plan: p.Changes}, nil
}

// TestRetriesWithBackoffUntilRecovered drives the loop with a clock that
// fires at once: failures are retried with growing waits, and success
// resets them and makes the daemon ready.
func TestRetriesWithBackoffUntilRecovered(t *testing.T) {
	rec := &flaky{n: 3}
	clock := fakeClock{waits: make(chan time.Duration, 100)}
	d := New(Config{Engine: rec, DriftInterval: 24 * time.Hour, Clock: clock, MaxBackoff: time.Minute})
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

// fakeClock fires After at once and counts the waits asked for.
type fakeClock struct{ waits chan time.Duration }

func (c fakeClock) Now() time.Time { return time.Unix(0, 0) }
func (c fakeClock) After(d time.Duration) <-chan time.Time {
	select {
	case c.waits <- d:
	default:
	}
	ch := make(chan time.Time, 1)
	if d < time.Hour {
		ch <- time.Unix(0, 0)
	}
	return ch
}
