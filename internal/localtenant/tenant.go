// Package localtenant is a faithful local implementation of the Actions part
// of the Auth0 Management API v2, Action Modules included, served over real
// HTTP.
//
// It is the default tenant of actionsync when no AUTH0_DOMAIN is set, the test
// bed of every test, and `actionsync local-tenant` for demos and other tools.
// Paths, status codes, JSON field names and error bodies follow the real API;
// the response shapes are checked against the recordings that ship with
// go-auth0 and against Auth0's reference pages. Builds move pending →
// building → built|failed after a configurable delay, lists are paged,
// secrets are write-only, Auth0's documented limits are enforced (limits.go),
// and the tenant can impose a rate limit, inject faults and log every request.
package localtenant

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/actionsync/actionsync/internal/node"
)

// Options configure a Tenant. The zero value is an in-memory tenant whose
// builds finish at once, with no rate limit, no faults, and open auth.
type Options struct {
	// BuildDelay is the time from a draft change to built (or failed).
	BuildDelay time.Duration
	// RateLimit is the number of API requests per second allowed, with a burst
	// of as many; 0 means unlimited. /oauth/token is not limited.
	RateLimit int
	// Faults is the share (0..1) of API requests answered 429, 500 or 503, or
	// dropped without an answer.
	Faults float64
	// Latency is added to every request.
	Latency time.Duration
	// Seed makes fault injection repeatable; 0 picks a random seed.
	Seed uint64
	// ClientID and ClientSecret, when set, are the only client credentials
	// /oauth/token accepts, and API calls need a token it issued. When unset
	// any credentials and any non-empty Bearer token are accepted.
	ClientID, ClientSecret string
	// StatePath, when set, keeps the tenant in this JSON file, loaded by New
	// and rewritten atomically after every change.
	StatePath string
	// RequestLog, when set, receives one JSON line per request.
	RequestLog io.Writer
	// Now is the tenant's clock; nil means time.Now.
	Now func() time.Time
	// Registry, when set, is the base URL of an npm registry that builds
	// look each dependency up in (GET {Registry}/{name}/{version}); one it
	// does not have fails the build. Unset, builds check only that names
	// and versions are well formed.
	Registry string
	// Node is the path of the node binary that runs action tests; "" looks
	// for node on PATH, "-" disables running code.
	Node string
	// TestTimeout bounds one run of the test endpoint, as Auth0 bounds an
	// execution; 0 means Auth0's 20 seconds (node.DefaultTimeout). Tests
	// of code that runs too long set a shorter one.
	TestTimeout time.Duration
	// NPMCache, when set, is where the test endpoint installs an action's
	// (and its modules') npm dependencies, once per distinct set, so code
	// that requires one runs; unset, such a require throws.
	NPMCache string
	// Logger receives the tenant's own warnings; nil discards them.
	Logger *slog.Logger
	// MaxActions is the tenant's entity limit of actions, Marketplace
	// integrations included; 0 means DefaultMaxActions (100), Auth0's
	// default. Plans differ, so a test bed can match the tenant it stands
	// for. A create past it is answered 403 too_many_entities.
	MaxActions int
	// MaxModules is the entity limit of Action Modules; 0 means
	// DefaultMaxModules (100).
	MaxModules int
}

// Request is one entry of the request log.
type Request struct {
	Time     time.Time `json:"time"`
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	Query    string    `json:"query,omitempty"`
	Status   int       `json:"status"`
	Fault    string    `json:"fault,omitempty"`
	Duration float64   `json:"duration_ms"`
}

// Tenant is an http.Handler serving the Actions API. It is safe for
// concurrent use.
type Tenant struct {
	opts    Options
	mux     *http.ServeMux
	limiter *limiter
	key     []byte // signs the tokens /oauth/token issues
	// runner runs action code for the test endpoint; one for the tenant's
	// life, so node's version is asked once and a dependency set is
	// installed once however many tests need it at once.
	runner *node.Runner

	mu    sync.Mutex // guards st and rng
	st    *state
	rng   *mrand.Rand
	logMu sync.Mutex // guards reqs and the request log writer
	reqs  []Request
}

// state is everything the tenant keeps, as persisted to Options.StatePath.
type state struct {
	Actions    []*action             `json:"actions"` // in creation order
	Modules    []*module             `json:"modules"` // in creation order
	Bindings   map[string][]*binding `json:"bindings"`
	Executions map[string]*execution `json:"executions"`
}

// New returns a tenant configured by opts, loading its state from
// opts.StatePath when that file exists.
func New(opts Options) (*Tenant, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = mrand.Uint64()
	}
	t := &Tenant{
		opts:   opts,
		runner: &node.Runner{Node: opts.Node, Timeout: opts.TestTimeout, Cache: opts.NPMCache},
		key:    randomBytes(32),
		st:     &state{Bindings: map[string][]*binding{}, Executions: map[string]*execution{}},
		rng:    mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	if opts.RateLimit > 0 {
		t.limiter = newLimiter(opts.RateLimit, opts.Now)
	}
	if err := t.load(); err != nil {
		return nil, err
	}
	t.routes()
	return t, nil
}

// Requests returns a copy of the request log so far.
func (t *Tenant) Requests() []Request {
	t.logMu.Lock()
	defer t.logMu.Unlock()
	out := make([]Request, len(t.reqs))
	copy(out, t.reqs)
	return out
}

// ResetRequests empties the in-memory request log.
func (t *Tenant) ResetRequests() {
	t.logMu.Lock()
	defer t.logMu.Unlock()
	t.reqs = nil
}

// SetFaults changes the share of faulty answers while the tenant runs.
func (t *Tenant) SetFaults(p float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.opts.Faults = p
}

func (t *Tenant) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /oauth/token", t.token)
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request)) {
		m.Handle(pattern, t.authorized(h))
	}
	const base = "/api/v2/actions/"
	api("GET "+base+"actions", t.listActions)
	api("POST "+base+"actions", t.createAction)
	api("GET "+base+"actions/{id}", t.readAction)
	api("PATCH "+base+"actions/{id}", t.updateAction)
	api("DELETE "+base+"actions/{id}", t.deleteAction)
	api("POST "+base+"actions/{id}/deploy", t.deployDraft)
	api("POST "+base+"actions/{id}/test", t.testAction)
	api("GET "+base+"actions/{id}/versions", t.listVersions)
	api("GET "+base+"actions/{id}/versions/{vid}", t.readVersion)
	api("POST "+base+"actions/{id}/versions/{vid}/deploy", t.deployVersion)
	api("GET "+base+"executions/{id}", t.readExecution)
	api("GET "+base+"triggers", t.listTriggers)
	api("GET "+base+"triggers/{trigger}/bindings", t.listBindings)
	api("PATCH "+base+"triggers/{trigger}/bindings", t.updateBindings)
	api("GET "+base+"modules", t.listModules)
	api("POST "+base+"modules", t.createModule)
	api("GET "+base+"modules/{id}", t.readModule)
	api("PATCH "+base+"modules/{id}", t.updateModule)
	api("DELETE "+base+"modules/{id}", t.deleteModule)
	api("GET "+base+"modules/{id}/actions", t.listModuleActions)
	api("POST "+base+"modules/{id}/rollback", t.rollbackModule)
	api("GET "+base+"modules/{id}/versions", t.listModuleVersions)
	api("POST "+base+"modules/{id}/versions", t.publishModule)
	api("GET "+base+"modules/{id}/versions/{vid}", t.readModuleVersion)
	// A neighbour that Auth0's own tools read as they start: answered as a
	// tenant that has none.
	api("GET /api/v2/clients", t.emptyArray)
	t.mux = m
}

// ServeHTTP serves one request, after the latency, fault and rate-limit
// stages, and logs it.
func (t *Tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	entry := Request{Time: t.opts.Now().UTC(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
	defer func() {
		entry.Status = rec.status
		entry.Duration = float64(time.Since(start).Microseconds()) / 1000
		if p := recover(); p != nil {
			entry.Status, entry.Fault = 0, "dropped"
			t.logRequest(entry)
			panic(p)
		}
		t.logRequest(entry)
	}()
	if t.opts.Latency > 0 {
		time.Sleep(t.opts.Latency)
	}
	if r.URL.Path != "/oauth/token" {
		if fault := t.injectFault(rec, r); fault != "" {
			entry.Fault = fault
			return
		}
		if t.limiter != nil && !t.limiter.allow(rec) {
			writeError(rec, http.StatusTooManyRequests, "Global limit has been reached", "too_many_requests")
			return
		}
	}
	if _, pattern := t.mux.Handler(r); pattern == "" {
		// No route, or a route without this method (ServeMux's plain-text
		// 405): Auth0 answers both with its JSON 404.
		writeError(rec, http.StatusNotFound, "Not Found", "")
		return
	}
	t.mux.ServeHTTP(rec, r)
}

func (t *Tenant) logRequest(e Request) {
	t.logMu.Lock()
	defer t.logMu.Unlock()
	t.reqs = append(t.reqs, e)
	if t.opts.RequestLog != nil {
		b, _ := json.Marshal(e)
		t.opts.RequestLog.Write(append(b, '\n'))
	}
}

// injectFault answers a share of requests with a failure and says which.
func (t *Tenant) injectFault(w http.ResponseWriter, r *http.Request) string {
	t.mu.Lock()
	p, roll, pick := t.opts.Faults, t.rng.Float64(), t.rng.IntN(4)
	t.mu.Unlock()
	if p <= 0 || roll >= p {
		return ""
	}
	switch pick {
	case 0:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "Global limit has been reached", "too_many_requests")
		return "429"
	case 1:
		writeError(w, http.StatusInternalServerError, "Internal Server Error", "")
		return "500"
	case 2:
		writeError(w, http.StatusServiceUnavailable, "Service Unavailable", "")
		return "503"
	}
	// Dropped: the server closes the connection without an answer.
	panic(http.ErrAbortHandler)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// apiError is Auth0's error body.
type apiError struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
	ErrorCode  string `json:"errorCode,omitempty"`
}

func writeError(w http.ResponseWriter, code int, message, errorCode string) {
	writeJSON(w, code, apiError{StatusCode: code, Error: http.StatusText(code), Message: message, ErrorCode: errorCode})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

// errBadRequest etc. let handlers return an error and have it answered.
type httpError struct {
	code      int
	message   string
	errorCode string
}

func (e *httpError) Error() string { return e.message }

func badRequest(format string, args ...any) error {
	return &httpError{code: http.StatusBadRequest, message: fmt.Sprintf(format, args...), errorCode: "invalid_body"}
}

func notFound(message string) error { return &httpError{code: http.StatusNotFound, message: message} }

func conflict(message string) error { return &httpError{code: http.StatusConflict, message: message} }

func preconditionFailed(message string) error {
	return &httpError{code: http.StatusPreconditionFailed, message: message}
}

func answer(w http.ResponseWriter, code int, v any, err error) {
	var he *httpError
	var ve *validationError
	switch {
	case errors.As(err, &ve):
		writeError(w, http.StatusBadRequest, ve.msg, "invalid_body")
	case errors.As(err, &he):
		writeError(w, he.code, he.message, he.errorCode)
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error(), "")
	case code == http.StatusNoContent:
		w.WriteHeader(code)
	default:
		writeJSON(w, code, v)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// newID returns a random UUID (version 4), the form of action, version and
// binding ids.
func newID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
