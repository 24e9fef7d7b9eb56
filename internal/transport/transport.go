// Package transport is the HTTP layer between go-auth0 and a tenant: it
// keeps inside the tenant's rate limit (X-RateLimit-* headers, 429 and
// Retry-After), writes first and reads in the time writes leave, retries
// 5xx answers and dropped connections on calls that are safe to repeat,
// fetches the bearer token of client credentials again when the tenant
// refuses it, and counts requests by route and status. Every other answer
// (400, 403, 404, 409, 413, 422, a 401 to a fresh token) is final: it is
// returned, never retried.
package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/actionsync/actionsync/internal/backoff"
	"golang.org/x/oauth2"
)

// Transport is an http.RoundTripper. Its zero value is not usable; use New.
type Transport struct {
	base     http.RoundTripper
	attempts int
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	observe  func(route string, code int)
	tokens   *tokens

	mu        sync.Mutex
	remaining int       // as the last answer reported; -1 unknown
	reset     time.Time // when the limit resets
	limit     float64   // requests a second, as X-RateLimit-Limit said; 0 unknown
	next      time.Time // the earliest start of the next request, pacing at limit
}

// Options configure a Transport.
type Options struct {
	// Attempts bounds the tries of one request; 0 means 8.
	Attempts int
	// Now and Sleep are the clock; nil means the real one.
	Now   func() time.Time
	Sleep func(context.Context, time.Duration) error
	// Observe, when set, is told the route and status of every answer (code
	// 0 for a dropped connection).
	Observe func(route string, code int)
	// Token, when set, fetches a bearer token (the client-credentials
	// grant). The transport sets it on every request, keeps it until it
	// expires, and when the tenant answers 401 (a token revoked, or
	// expired early by the tenant's clock) fetches a new one and sends the
	// request once more. A second 401 is the answer.
	Token func(ctx context.Context) (*oauth2.Token, error)
}

// New wraps base (nil means http.DefaultTransport).
func New(base http.RoundTripper, opts Options) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	t := &Transport{base: base, attempts: opts.Attempts, now: opts.Now, sleep: opts.Sleep, observe: opts.Observe, remaining: -1}
	if t.attempts <= 0 {
		t.attempts = 8
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.sleep == nil {
		t.sleep = backoff.Sleep
	}
	if t.observe == nil {
		t.observe = func(string, int) {}
	}
	if opts.Token != nil {
		t.tokens = &tokens{fetch: opts.Token}
	}
	return t
}

// tokens keeps the bearer token Options.Token fetched.
type tokens struct {
	fetch func(ctx context.Context) (*oauth2.Token, error)
	mu    sync.Mutex
	cur   *oauth2.Token
}

// get returns the token kept, or fetches one when there is none or it
// expires within ten seconds; callers wait for one fetch.
func (k *tokens) get(ctx context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.cur.Valid() {
		tok, err := k.fetch(ctx)
		if err != nil {
			return "", fmt.Errorf("get a token: %w", err)
		}
		k.cur = tok
	}
	return k.cur.AccessToken, nil
}

// refused drops tok, which the tenant answered 401 to, unless another
// request has replaced it already.
func (k *tokens) refused(tok string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cur != nil && k.cur.AccessToken == tok {
		k.cur = nil
	}
}

// retryable reports whether a request may be sent again after a 5xx or a
// dropped connection: everything but creating an action and deploying its
// draft, which the tenant may have done though its answer was lost (a
// second would make a duplicate, or one more version), and a trigger's
// bindings (isBindings). The engine retries those itself, once it has
// looked.
func retryable(r *http.Request) bool {
	return !(r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/api/v2/actions/actions") || isDraftDeploy(r.URL.Path))) && !isBindings(r)
}

// isBindings matches the write of a trigger's bindings: the whole list,
// planned from a read. Sent again after a wait it could replace another
// writer's list written meanwhile; the engine reads and plans again first.
func isBindings(r *http.Request) bool {
	return r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/api/v2/actions/triggers/") && strings.HasSuffix(r.URL.Path, "/bindings")
}

// isDraftDeploy matches /api/v2/actions/actions/{id}/deploy.
func isDraftDeploy(path string) bool {
	rest, ok := strings.CutPrefix(path, "/api/v2/actions/actions/")
	id, ok2 := strings.CutSuffix(rest, "/deploy")
	return ok && ok2 && id != "" && !strings.Contains(id, "/")
}

// RoundTrip sends r, waiting for the rate limit and retrying as allowed.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
	}
	route := Route(r.Method, r.URL.Path)
	var lastErr error
	refreshed := false
	for attempt := 0; attempt < t.attempts; attempt++ {
		if err := t.waitForLimit(r.Context(), isWrite(r)); err != nil {
			return nil, err
		}
		if check, ok := r.Context().Value(beforeSendKey{}).(func() error); ok {
			if err := check(); err != nil {
				return nil, err
			}
		}
		req, tok, err := t.authorize(clone(r, body))
		if err != nil {
			return nil, err
		}
		resp, err := t.base.RoundTrip(req)
		wait, retry := t.classify(r, resp, err, attempt)
		if t.tokens != nil && !refreshed && resp != nil && resp.StatusCode == http.StatusUnauthorized {
			// Refused before any work: a new token, and once more.
			t.tokens.refused(tok)
			wait, retry, refreshed = 0, true, true
		}
		if resp != nil {
			t.observe(route, resp.StatusCode)
		} else {
			t.observe(route, 0)
		}
		if !retry || attempt == t.attempts-1 {
			return resp, err
		}
		if resp != nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		lastErr = err
		if err := t.sleep(r.Context(), wait); err != nil {
			return nil, err
		}
	}
	return nil, lastErr
}

type beforeSendKey struct{}

// WithBeforeSend returns ctx with check, which the Transport calls just
// before it sends a request made with ctx (after its wait for the rate
// limit, before each attempt): an error from check is the request's, and
// nothing is sent. A write planned from a read can so refuse to go once
// the read is old.
func WithBeforeSend(ctx context.Context, check func() error) context.Context {
	return context.WithValue(ctx, beforeSendKey{}, check)
}

// authorize sets the bearer token of Options.Token on r, and returns it.
func (t *Transport) authorize(r *http.Request) (*http.Request, string, error) {
	if t.tokens == nil {
		return r, "", nil
	}
	tok, err := t.tokens.get(r.Context())
	if err != nil {
		return nil, "", err
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	return r, tok, nil
}

func clone(r *http.Request, body []byte) *http.Request {
	c := r.Clone(r.Context())
	if body != nil {
		c.Body = io.NopCloser(bytes.NewReader(body))
		c.ContentLength = int64(len(body))
		c.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	} else {
		c.Body = http.NoBody
		c.ContentLength = 0
	}
	return c
}

// classify reads the rate-limit headers and decides on a retry.
func (t *Transport) classify(r *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || r.Context().Err() != nil {
			return 0, false
		}
		return backoff.Request.Delay(attempt), retryable(r)
	}
	t.note(resp.Header)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		// Refused before any work: any request may be sent again, but a
		// trigger's bindings, which are a whole list read before the wait.
		return t.retryAfter(resp.Header, attempt), !isBindings(r)
	case resp.StatusCode >= 500:
		return backoff.Request.Delay(attempt), retryable(r)
	}
	return 0, false
}

func (t *Transport) retryAfter(h http.Header, attempt int) time.Duration {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if d := t.reset.Sub(t.now()); d > 0 {
		return d
	}
	return backoff.Request.Delay(attempt)
}

func (t *Transport) note(h http.Header) {
	if l, err := strconv.Atoi(h.Get("X-RateLimit-Limit")); err == nil && l > 0 {
		t.mu.Lock()
		t.limit = float64(l)
		t.mu.Unlock()
	}
	rem, err1 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, err2 := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.remaining, t.reset = rem, time.Unix(reset, 0)
}

// isWrite reports whether r may change the tenant: every method but GET
// and HEAD. Writes go first; reads wait for the time writes leave.
func isWrite(r *http.Request) bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead
}

// waitForLimit paces requests, across all callers, at the limit the tenant
// advertises (X-RateLimit-Limit a second), and holds them while the last
// answer said the budget is spent, until its reset: the tenant's 429 becomes
// rare rather than the way to find the limit. Writes go first: a write
// takes the earliest free start at once, even one a read is waiting for; a
// read takes a start only when it is free now, and otherwise waits for it
// and looks again. Build waits so never delay the writes that matter.
func (t *Transport) waitForLimit(ctx context.Context, write bool) error {
	for {
		wait, claimed := t.claim(write)
		if wait > 0 {
			if err := t.sleep(ctx, wait); err != nil {
				return err
			}
		}
		if claimed {
			return nil
		}
	}
}

// claim takes a start for one request and says how long to wait for it;
// claimed is false for a read that must look again after the wait.
func (t *Transport) claim(write bool) (wait time.Duration, claimed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	start := now
	held := t.remaining == 0 && t.reset.After(start)
	if held {
		start = t.reset
	}
	if t.limit > 0 && t.next.After(start) {
		start = t.next
	}
	if !write && start.After(now) {
		return start.Sub(now), false
	}
	if held {
		t.remaining = -1
	}
	if t.limit > 0 {
		t.next = start.Add(time.Duration(float64(time.Second) / t.limit))
	}
	return start.Sub(now), true
}

// Route is the request's path with ids replaced, for metrics: POST
// /api/v2/actions/actions/{id}/deploy, PATCH /api/v2/actions/modules/{id}.
func Route(method, path string) string {
	segs := strings.Split(path, "/")
	for i := 1; i < len(segs); i++ {
		prev := segs[i-1]
		if prev == "versions" || prev == "executions" || (prev == "actions" || prev == "modules") && i >= 2 && segs[i-2] == "actions" {
			segs[i] = "{id}"
		}
	}
	return method + " " + strings.Join(segs, "/")
}
