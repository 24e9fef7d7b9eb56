// Package tenanttest starts a local tenant over real HTTPS for tests and
// hands back a real go-auth0 client connected to it.
package tenanttest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/auth0/go-auth0/management"
	"golang.org/x/oauth2"
)

// Client credentials every tenant started here is configured with.
const (
	ClientID     = "test-client"
	ClientSecret = "test-secret"
)

// Server is a running local tenant.
type Server struct {
	*localtenant.Tenant
	// URL is the server's base URL, https://127.0.0.1:port.
	URL string
	// Domain is URL without its scheme, as AUTH0_DOMAIN would hold it.
	Domain string
	// HTTP trusts the server's certificate.
	HTTP *http.Client
	// API is a go-auth0 client that authenticates with client credentials.
	API *management.Management
}

// Start serves a tenant configured by opts (with the client credentials
// above) over HTTPS until the test ends. The go-auth0 client does not retry,
// so tests see every answer the tenant gives.
func Start(tb testing.TB, opts localtenant.Options) *Server {
	tb.Helper()
	opts.ClientID, opts.ClientSecret = ClientID, ClientSecret
	t, err := localtenant.New(opts)
	if err != nil {
		tb.Fatalf("new local tenant: %v", err)
	}
	srv := httptest.NewTLSServer(t)
	tb.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	s := &Server{Tenant: t, URL: srv.URL, Domain: u.Host, HTTP: srv.Client()}
	s.API = s.NewClient(tb, management.WithNoRetries())
	return s
}

// NewClient returns another go-auth0 client of this tenant, with opts added.
func (s *Server) NewClient(tb testing.TB, opts ...management.Option) *management.Management {
	tb.Helper()
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.HTTP)
	base := []management.Option{
		management.WithClient(s.HTTP),
		management.WithClientCredentials(ctx, ClientID, ClientSecret),
	}
	m, err := management.New(s.Domain, append(base, opts...)...)
	if err != nil {
		tb.Fatalf("new management client: %v", err)
	}
	return m
}

// Writes returns the requests in the log that could change the tenant:
// every method but GET, and no token requests.
func Writes(reqs []localtenant.Request) []localtenant.Request {
	var out []localtenant.Request
	for _, r := range reqs {
		if r.Method != http.MethodGet && r.Path != "/oauth/token" {
			out = append(out, r)
		}
	}
	return out
}

// Clock is a manual clock for Options.Now: time moves only by Advance.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at a fixed instant.
func NewClock() *Clock { return &Clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
