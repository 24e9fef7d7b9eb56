// Package backoff says how long to wait before trying again: capped,
// jittered exponential delays, and a sleep that ends with its context.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy is an exponential backoff: Base before the first retry, doubling
// each time, never more than Max. Each delay is jittered down by up to half,
// so that many clients that failed together do not retry together.
type Policy struct {
	Base time.Duration
	Max  time.Duration
}

// Request spaces the retries of one API request that got no answer, a
// 5xx or a 429 without Retry-After: 100ms, 200ms, ... up to 5s.
var Request = Policy{Base: 100 * time.Millisecond, Max: 5 * time.Second}

// Delay is the wait before retry n (0 for the first), between half and all
// of min(Base·2ⁿ, Max).
func (p Policy) Delay(n int) time.Duration {
	d := p.Max
	if n < 62 {
		if e := p.Base << n; e > 0 && e < p.Max {
			d = e
		}
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits for d, or until ctx ends, whose error it then returns.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
