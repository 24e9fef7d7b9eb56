package transport_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/transport"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TestPermanentAnswersNotRetried: a real server answers each permanent
// status to a read, an update and a create; each request is sent once,
// and the answer comes back as it is.
func TestPermanentAnswersNotRetried(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404, 409, 413, 422} {
		for _, method := range []string{"GET", "PATCH", "POST"} {
			t.Run(http.StatusText(code)+"/"+method, func(t *testing.T) {
				var sent atomic.Int64
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					sent.Add(1)
					w.WriteHeader(code)
				}))
				t.Cleanup(srv.Close)
				clock := &fakeClock{now: time.Unix(1000, 0)}
				client := &http.Client{Transport: transport.New(nil, transport.Options{Now: clock.Now, Sleep: clock.Sleep})}
				req, _ := http.NewRequest(method, srv.URL+"/api/v2/actions/actions", strings.NewReader(`{"name":"a"}`))
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != code || sent.Load() != 1 {
					t.Errorf("got %d after %d requests, want %d after 1", resp.StatusCode, sent.Load(), code)
				}
			})
		}
	}
}

// TestPermanentAnswersOfTheTenant: the local tenant's own 400, 401, 403,
// 404 and 409 reach go-auth0 once each through the transport.
func TestPermanentAnswersOfTheTenant(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{Node: "-", MaxActions: 1})
	api := srv.NewClient(t, management.WithClient(&http.Client{Transport: transport.New(srv.HTTP.Transport, transport.Options{})}),
		management.WithNoRetries())
	newAction := func(name, code string) *management.Action {
		return &management.Action{Name: auth0.String(name), Code: auth0.String(code),
			SupportedTriggers: []management.ActionTrigger{{ID: auth0.String("post-login"), Version: auth0.String("v3")}}}
	}
	if err := api.Action.Create(t.Context(), newAction("a", "x")); err != nil {
		t.Fatal(err)
	}
	bad := srv.NewClient(t, management.WithStaticToken("not-a-token-of-this-tenant"),
		management.WithClient(&http.Client{Transport: transport.New(srv.HTTP.Transport, transport.Options{})}), management.WithNoRetries())
	for _, tc := range []struct {
		code int
		call func(context.Context) error
	}{
		{400, func(ctx context.Context) error {
			return api.Action.Create(ctx, newAction("b", strings.Repeat("x", 200<<10)))
		}},
		{401, func(ctx context.Context) error { _, err := bad.Action.List(ctx); return err }},
		{403, func(ctx context.Context) error { return api.Action.Create(ctx, newAction("c", "x")) }},
		{404, func(ctx context.Context) error { _, err := api.Action.Read(ctx, "no-such-id"); return err }},
		{409, func(ctx context.Context) error { return api.Action.Create(ctx, newAction("a", "x")) }},
	} {
		t.Run(http.StatusText(tc.code), func(t *testing.T) {
			srv.ResetRequests()
			err := tc.call(t.Context())
			var merr management.Error
			if !errors.As(err, &merr) || merr.Status() != tc.code {
				t.Fatalf("error %v, want a %d", err, tc.code)
			}
			if n := apiRequests(srv); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func apiRequests(srv *tenanttest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Path != "/oauth/token" {
			n++
		}
	}
	return n
}

// TestTokenFetchedAgainOn401: the tenant's clock passes the token's expiry
// while the client still holds it (a token revoked, or a clock ahead): the
// 401 makes the transport fetch a new token and send the call once more.
func TestTokenFetchedAgainOn401(t *testing.T) {
	clock := tenanttest.NewClock()
	srv := tenanttest.Start(t, localtenant.Options{Node: "-", Now: clock.Now})
	api := clientWithToken(t, srv, credentials(srv, tenanttest.ClientSecret))
	if _, err := api.Action.List(t.Context()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(25 * time.Hour)
	srv.ResetRequests()
	if _, err := api.Action.List(t.Context()); err != nil {
		t.Fatalf("after the tenant's clock passed the token's expiry: %v", err)
	}
	var got []string
	for _, r := range srv.Requests() {
		got = append(got, r.Method+" "+r.Path+" "+http.StatusText(r.Status))
	}
	want := "GET /api/v2/actions/actions Unauthorized, POST /oauth/token OK, GET /api/v2/actions/actions OK"
	if strings.Join(got, ", ") != want {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}

// TestTokenRefusedTwice: a token refused once more is the answer: the
// call is not retried again.
func TestTokenRefusedTwice(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{Node: "-"})
	var fetched atomic.Int64
	api := clientWithToken(t, srv, func(context.Context) (*oauth2.Token, error) {
		fetched.Add(1)
		return &oauth2.Token{AccessToken: "forged"}, nil
	})
	_, err := api.Action.List(t.Context())
	var merr management.Error
	if !errors.As(err, &merr) || merr.Status() != 401 {
		t.Fatalf("error %v, want a 401", err)
	}
	if n := apiRequests(srv); n != 2 || fetched.Load() != 2 {
		t.Errorf("%d requests and %d tokens, want 2 and 2", n, fetched.Load())
	}
}

func credentials(srv *tenanttest.Server, secret string) func(context.Context) (*oauth2.Token, error) {
	cc := clientcredentials.Config{ClientID: tenanttest.ClientID, ClientSecret: secret, TokenURL: srv.URL + "/oauth/token",
		EndpointParams: url.Values{"audience": {srv.URL + "/api/v2/"}}}
	return func(ctx context.Context) (*oauth2.Token, error) {
		return cc.Token(context.WithValue(ctx, oauth2.HTTPClient, srv.HTTP))
	}
}

// clientWithToken is go-auth0 over the transport, which sets the token.
func clientWithToken(t *testing.T, srv *tenanttest.Server, token func(context.Context) (*oauth2.Token, error)) *management.Management {
	t.Helper()
	client := &http.Client{Transport: transport.New(srv.HTTP.Transport, transport.Options{Token: token})}
	m, err := management.New(srv.Domain, management.WithClient(client), management.WithStaticToken("set-by-the-transport"), management.WithNoRetries())
	if err != nil {
		t.Fatal(err)
	}
	return m
}
