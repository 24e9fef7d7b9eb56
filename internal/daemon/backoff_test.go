package daemon

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		failures int
		lo, hi   time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{5, 8 * time.Second, 16 * time.Second},
		{12, 150 * time.Second, 300 * time.Second}, // capped at 5m
		{80, 150 * time.Second, 300 * time.Second}, // no overflow
	} {
		for range 50 {
			if d := backoff(tc.failures, 5*time.Minute); d < tc.lo || d > tc.hi {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tc.failures, d, tc.lo, tc.hi)
			}
		}
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
