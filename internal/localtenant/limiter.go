package localtenant

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// limiter is a token bucket of rate tokens a second with a burst of rate, that
// reports itself in Auth0's X-RateLimit-* headers.
type limiter struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newLimiter(rate int, now func() time.Time) *limiter {
	return &limiter{rate: float64(rate), tokens: float64(rate), last: now(), now: now}
}

// allow takes a token if there is one, and sets the rate-limit headers on w
// either way: Limit, Remaining, Reset (epoch seconds when the bucket is full
// again) and, when refused, Retry-After.
func (l *limiter) allow(w http.ResponseWriter) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.tokens = math.Min(l.rate, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	ok := l.tokens >= 1
	if ok {
		l.tokens--
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(int(l.rate)))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(int(l.tokens)))
	full := now.Add(time.Duration((l.rate - l.tokens) / l.rate * float64(time.Second)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(int64(math.Ceil(float64(full.UnixNano())/1e9)), 10))
	if !ok {
		wait := (1 - l.tokens) / l.rate
		h.Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(wait)))))
	}
	return ok
}
