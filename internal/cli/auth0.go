package cli

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/transport"
	"github.com/auth0/go-auth0/management"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// builtinDir holds the built-in tenant's state and key.
const builtinDir = ".actionsync"

// conn is a connection to the tenant actionsync syncs.
type conn struct {
	api     *management.Management
	builtin bool
	// secretKey keys the secrets' fingerprints; nil when none is configured.
	secretKey []byte
}

// auth0Env is the environment Auth0's own tools read, or the variables an
// environment of actionsync.yaml names.
type auth0Env struct {
	domain, clientID, clientSecret, accessToken string
	// ci is $CI, which CI services set (GitHub Actions, GitLab, ...).
	ci string
	// env is the environment of actionsync.yaml the tenant is; "" for
	// AUTH0_*'s.
	env string
	// lazy leaves the first token to the first request, as the daemon
	// wants: a tenant down at start is then one environment's failure,
	// retried by its loop, not the process's.
	lazy bool
}

func readAuth0Env(getenv func(string) string) auth0Env {
	return auth0Env{
		domain: getenv("AUTH0_DOMAIN"), clientID: getenv("AUTH0_CLIENT_ID"),
		clientSecret: getenv("AUTH0_CLIENT_SECRET"), accessToken: getenv("AUTH0_ACCESS_TOKEN"),
		ci: getenv("CI"),
	}
}

func (e auth0Env) validate() error {
	switch {
	case e.builtin():
		return nil
	case e.accessToken == "" && (e.clientID == "" || e.clientSecret == ""):
		return errors.New("AUTH0_DOMAIN is set: set AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET, or AUTH0_ACCESS_TOKEN")
	}
	if err := manifest.ValidDomain(e.domain); err != nil {
		return fmt.Errorf("AUTH0_DOMAIN: %w", err)
	}
	return nil
}

func withScheme(domain string) string {
	if strings.Contains(domain, "://") {
		return domain
	}
	return "https://" + domain
}

// connect opens the tenant: AUTH0_DOMAIN's, or the built-in one (of at
// most maxActions actions; 0 for Auth0's default).
func connect(ctx context.Context, e auth0Env, keyFile string, maxActions int, observe func(string, int), log *slog.Logger) (*conn, error) {
	if e.builtin() {
		return connectBuiltin(e, keyFile, maxActions, observe, log)
	}
	t := &conn{}
	var err error
	t.api, err = dial(ctx, e, observe)
	if err != nil {
		return nil, err
	}
	t.secretKey, err = secretKey(keyFile, e.clientSecret)
	return t, err
}

func dial(ctx context.Context, e auth0Env, observe func(string, int)) (*management.Management, error) {
	u, _ := url.Parse(withScheme(e.domain))
	// No overall client timeout: waits for the rate limit may be long, and
	// the reconcile has its own; a tenant that stops answering is cut off
	// by the header timeout, and the call retried where that is safe.
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.ResponseHeaderTimeout = 60 * time.Second
	client := &http.Client{Transport: transport.New(base, transport.Options{Observe: observe})}
	opts := []management.Option{management.WithClient(client), management.WithNoRetries(), management.WithUserAgent("actionsync")}
	if u.Scheme == "http" {
		// go-auth0 speaks plain HTTP only with WithInsecure, which sends a
		// fixed token; the transport below it replaces that with a token of
		// our own, fetched and refreshed by client credentials.
		src := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.accessToken})
		if e.accessToken == "" {
			cc := clientcredentials.Config{ClientID: e.clientID, ClientSecret: e.clientSecret,
				TokenURL: "http://" + u.Host + "/oauth/token", EndpointParams: url.Values{"audience": {"http://" + u.Host + "/api/v2/"}}}
			src = cc.TokenSource(context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, &http.Client{Transport: base}))
			if !e.lazy {
				if _, err := src.Token(); err != nil {
					return nil, fmt.Errorf("get a token from %s: %w", u.Host, err)
				}
			}
		}
		client.Transport = &oauth2.Transport{Source: src, Base: client.Transport}
		opts = append(opts, management.WithInsecure())
	} else if e.accessToken != "" {
		opts = append(opts, management.WithStaticToken(e.accessToken))
	} else {
		cctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, client)
		opts = append(opts, management.WithClientCredentials(cctx, e.clientID, e.clientSecret))
	}
	m, err := management.New(u.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", u.Host, err)
	}
	return m, nil
}

// secretKey is the fingerprint key: the file's content, or else one derived
// from the client secret, which every runner of the same tenant holds.
func secretKey(file, clientSecret string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read --secret-key-file: %w", err)
		}
		if len(strings.TrimSpace(string(b))) < 16 {
			return nil, fmt.Errorf("--secret-key-file %s: want at least 16 characters of key", file)
		}
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if clientSecret == "" {
		return nil, nil
	}
	m := hmac.New(sha256.New, []byte(clientSecret))
	m.Write([]byte("actionsync secret fingerprints v1"))
	return m.Sum(nil), nil
}

// connectBuiltin opens the built-in tenant in process, with its state and
// fingerprint key under .actionsync/.
func connectBuiltin(e auth0Env, keyFile string, maxActions int, observe func(string, int), log *slog.Logger) (*conn, error) {
	state := filepath.Join(builtinDir, "local-tenant.json")
	if e.env != "" {
		state = filepath.Join(builtinDir, "local-tenant-"+e.env+".json") // each environment its own tenant
	}
	log.Warn(e.builtinWhy()+": using the built-in local tenant; nothing reaches a real Auth0 tenant", "state", state)
	lt, err := localtenant.New(localtenant.Options{StatePath: state, BuildDelay: 300 * time.Millisecond, MaxActions: maxActions, Logger: log})
	if err != nil {
		return nil, err
	}
	client := &http.Client{Transport: transport.New(inProcess{lt}, transport.Options{Observe: observe})}
	m, err := management.New("local-tenant.invalid", management.WithClient(client),
		management.WithStaticToken("built-in"), management.WithNoRetries(), management.WithUserAgent("actionsync"))
	if err != nil {
		return nil, err
	}
	key, err := secretKey(keyFile, "")
	if err == nil && key == nil {
		key, err = builtinKey()
	}
	return &conn{api: m, builtin: true, secretKey: key}, err
}

func builtinKey() ([]byte, error) {
	path := filepath.Join(builtinDir, "secret-key")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, nil
	}
	b := make([]byte, 32)
	rand.Read(b)
	if err := os.MkdirAll(builtinDir, 0o700); err != nil {
		return nil, err
	}
	return b, os.WriteFile(path, b, 0o600)
}

// inProcess serves requests with a handler in this process: the built-in
// tenant costs no port and no TLS.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}
