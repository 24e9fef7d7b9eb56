package transport_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/transport"
)

// script answers requests from a list, and records what it saw.
type script struct {
	mu      sync.Mutex
	answers []func() (*http.Response, error)
	seen    []string
}

func (s *script) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	s.seen = append(s.seen, r.Method+" "+r.URL.Path+" "+string(b))
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a()
}

func answer(code int, headers ...string) func() (*http.Response, error) {
	return func() (*http.Response, error) {
		h := http.Header{}
		for i := 0; i+1 < len(headers); i += 2 {
			h.Set(headers[i], headers[i+1])
		}
		return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader("{}"))}, nil
	}
}

func dropped() (*http.Response, error) { return nil, errors.New("connection reset by peer") }

// fakeClock records sleeps instead of sleeping.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func send(t *testing.T, tr http.RoundTripper, method, path, body string) (*http.Response, error) {
	t.Helper()
	req, _ := http.NewRequest(method, "https://tenant.example"+path, strings.NewReader(body))
	return tr.RoundTrip(req)
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		method   string
		path     string
		answers  []func() (*http.Response, error)
		wantCode int
		wantSent int
	}{
		{"5xx on a read is retried", "GET", "/api/v2/actions/actions", []func() (*http.Response, error){answer(500), answer(503), answer(200)}, 200, 3},
		{"a dropped PATCH is retried with its body", "PATCH", "/api/v2/actions/actions/x", []func() (*http.Response, error){dropped, answer(200)}, 200, 2},
		{"a create is never retried on 5xx", "POST", "/api/v2/actions/actions", []func() (*http.Response, error){answer(503)}, 503, 1},
		{"a create refused with 429 is retried", "POST", "/api/v2/actions/actions", []func() (*http.Response, error){answer(429, "Retry-After", "2"), answer(201)}, 201, 2},
		{"a draft's deploy is never retried on 5xx", "POST", "/api/v2/actions/actions/x/deploy", []func() (*http.Response, error){answer(500)}, 500, 1},
		{"nor when dropped", "POST", "/api/v2/actions/actions/x/deploy", []func() (*http.Response, error){dropped}, 0, 1},
		{"a draft's deploy refused with 429 is retried", "POST", "/api/v2/actions/actions/x/deploy", []func() (*http.Response, error){answer(429, "Retry-After", "1"), answer(200)}, 200, 2},
		{"a rollback is retried", "POST", "/api/v2/actions/actions/x/versions/v/deploy", []func() (*http.Response, error){answer(503), answer(200)}, 200, 2},
		{"a bindings write refused with 429 is not sent again as it was", "PATCH", "/api/v2/actions/triggers/post-login/bindings", []func() (*http.Response, error){answer(429, "Retry-After", "1")}, 429, 1},
		{"nor after a 5xx", "PATCH", "/api/v2/actions/triggers/post-login/bindings", []func() (*http.Response, error){answer(503)}, 503, 1},
		{"4xx is an answer", "GET", "/api/v2/actions/actions/x", []func() (*http.Response, error){answer(404)}, 404, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{answers: tc.answers}
			clock := &fakeClock{now: time.Unix(1000, 0)}
			tr := transport.New(s, transport.Options{Now: clock.Now, Sleep: clock.Sleep})
			resp, _ := send(t, tr, tc.method, tc.path, `{"name":"a"}`)
			code := 0
			if resp != nil {
				code = resp.StatusCode
			}
			if code != tc.wantCode || len(s.seen) != tc.wantSent {
				t.Errorf("got %d after %d sends, want %d after %d", code, len(s.seen), tc.wantCode, tc.wantSent)
			}
			for _, seen := range s.seen {
				if tc.method != "GET" && !strings.HasSuffix(seen, `{"name":"a"}`) {
					t.Errorf("a retry lost the body: %q", seen)
				}
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	s := &script{answers: []func() (*http.Response, error){answer(429, "Retry-After", "3"), answer(200)}}
	clock := &fakeClock{now: time.Unix(1000, 0)}
	tr := transport.New(s, transport.Options{Now: clock.Now, Sleep: clock.Sleep})
	send(t, tr, "GET", "/api/v2/actions/actions", "")
	if len(clock.sleeps) != 1 || clock.sleeps[0] != 3*time.Second {
		t.Errorf("sleeps = %v, want [3s]", clock.sleeps)
	}
}

// TestPacing: once the tenant says its limit, requests start 1/limit apart.
func TestPacing(t *testing.T) {
	s := &script{}
	for range 4 {
		s.answers = append(s.answers, answer(200, "X-RateLimit-Limit", "4", "X-RateLimit-Remaining", "3", "X-RateLimit-Reset", "1001"))
	}
	clock := &fakeClock{now: time.Unix(1000, 0)}
	tr := transport.New(s, transport.Options{Now: clock.Now, Sleep: clock.Sleep})
	for range 4 {
		send(t, tr, "GET", "/api/v2/actions/actions", "")
	}
	// The first answer tells the limit; the second request goes at once,
	// the third and fourth a quarter of a second after the one before.
	want := []time.Duration{250 * time.Millisecond, 250 * time.Millisecond}
	if len(clock.sleeps) != 2 || clock.sleeps[0] != want[0] || clock.sleeps[1] != want[1] {
		t.Errorf("sleeps = %v, want %v", clock.sleeps, want)
	}
}

func TestSpentBudgetWaitsForReset(t *testing.T) {
	s := &script{answers: []func() (*http.Response, error){
		answer(200, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "1005"), answer(200),
	}}
	clock := &fakeClock{now: time.Unix(1000, 0)}
	tr := transport.New(s, transport.Options{Now: clock.Now, Sleep: clock.Sleep})
	send(t, tr, "GET", "/a", "")
	send(t, tr, "GET", "/a", "")
	if len(clock.sleeps) != 1 || clock.sleeps[0] != 5*time.Second {
		t.Errorf("sleeps = %v, want [5s]", clock.sleeps)
	}
}

func TestRoute(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v2/actions/actions":                         "GET /api/v2/actions/actions",
		"/api/v2/actions/actions/abc/deploy":              "GET /api/v2/actions/actions/{id}/deploy",
		"/api/v2/actions/actions/abc/versions/def/deploy": "GET /api/v2/actions/actions/{id}/versions/{id}/deploy",
		"/api/v2/actions/triggers/post-login/bindings":    "GET /api/v2/actions/triggers/post-login/bindings",
		"/api/v2/actions/executions/xyz":                  "GET /api/v2/actions/executions/{id}",
		"/api/v2/actions/modules":                         "GET /api/v2/actions/modules",
		"/api/v2/actions/modules/abc/versions":            "GET /api/v2/actions/modules/{id}/versions",
		"/api/v2/actions/modules/abc/versions/def":        "GET /api/v2/actions/modules/{id}/versions/{id}",
		"/api/v2/actions/modules/abc/actions":             "GET /api/v2/actions/modules/{id}/actions",
	} {
		if got := transport.Route("GET", in); got != want {
			t.Errorf("Route(%s) = %s, want %s", in, got, want)
		}
	}
}

// manualClock is a clock whose sleepers wake only when the test moves it.
type manualClock struct {
	mu       sync.Mutex
	now      time.Time
	sleepers int
	moved    chan struct{} // closed and replaced on every Advance
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Unix(1000, 0), moved: make(chan struct{})}
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *manualClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	wake := c.now.Add(d)
	c.sleepers++
	defer func() { c.mu.Lock(); c.sleepers--; c.mu.Unlock() }()
	for c.now.Before(wake) {
		moved := c.moved
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-moved:
		}
		c.mu.Lock()
	}
	c.mu.Unlock()
	return nil
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	close(c.moved)
	c.moved = make(chan struct{})
}

// poll waits, with a deadline, until cond holds.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestWritesFirst: a write that comes while a read waits for its turn takes
// that turn; the read goes in the next one.
func TestWritesFirst(t *testing.T) {
	limited := answer(200, "X-RateLimit-Limit", "1", "X-RateLimit-Remaining", "5", "X-RateLimit-Reset", "1001")
	s := &script{answers: []func() (*http.Response, error){limited, limited, limited, limited}}
	clock := newManualClock()
	tr := transport.New(s, transport.Options{Now: clock.Now, Sleep: clock.Sleep})
	send(t, tr, "GET", "/api/v2/actions/actions", "") // learns the limit: 1 a second
	send(t, tr, "GET", "/api/v2/actions/actions", "") // the next start is a second away
	seen := func() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.seen) }
	sleepers := func() int { clock.mu.Lock(); defer clock.mu.Unlock(); return clock.sleepers }

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); send(t, tr, "GET", "/api/v2/actions/actions", "") }()
	poll(t, "the read waits for its turn", func() bool { return sleepers() == 1 })
	go func() { defer wg.Done(); send(t, tr, "PATCH", "/api/v2/actions/actions/x", `{}`) }()
	poll(t, "the write waits for its turn", func() bool { return sleepers() == 2 })

	clock.Advance(time.Second)
	poll(t, "one request sent", func() bool { return seen() == 3 })
	if got := s.seen[2]; !strings.HasPrefix(got, "PATCH ") {
		t.Errorf("sent first after the wait: %q, want the write", got)
	}
	clock.Advance(time.Second)
	poll(t, "the read sent", func() bool { return seen() == 4 })
	wg.Wait()
	if got := s.seen[3]; !strings.HasPrefix(got, "GET ") {
		t.Errorf("sent second: %q, want the read", got)
	}
}

// TestBeforeSend: a request whose context's check fails after its wait for
// the rate limit is not sent, and fails with the check's error; one whose
// check passes is sent.
func TestBeforeSend(t *testing.T) {
	old := errors.New("the read is too old")
	for _, tc := range []struct {
		check    error
		wantSent int
	}{{old, 0}, {nil, 1}} {
		s := &script{answers: []func() (*http.Response, error){answer(200)}}
		clock := &fakeClock{now: time.Unix(1000, 0)}
		tr := transport.New(s, transport.Options{Now: clock.Now, Sleep: clock.Sleep})
		ctx := transport.WithBeforeSend(t.Context(), func() error { return tc.check })
		req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, "https://tenant.example/api/v2/actions/triggers/post-login/bindings", strings.NewReader(`{}`))
		_, err := tr.RoundTrip(req)
		if !errors.Is(err, tc.check) || len(s.seen) != tc.wantSent {
			t.Errorf("check %v: error %v after %d sends, want %d", tc.check, err, len(s.seen), tc.wantSent)
		}
	}
}
