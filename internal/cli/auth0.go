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

// connOptions say how to open a tenant.
type connOptions struct {
	keyFile    string
	maxActions int  // of the built-in tenant; 0 for Auth0's default
	readOnly   bool // a dry run: the built-in tenant writes nothing to disk
	observe    func(route string, code int)
	log        *slog.Logger
}

// connect opens the tenant: AUTH0_DOMAIN's, or the built-in one.
func connect(e auth0Env, o connOptions) (*conn, error) {
	if e.builtin() {
		return connectBuiltin(e, o)
	}
	t := &conn{}
	var err error
	t.api, err = dial(e, o.observe)
	if err != nil {
		return nil, err
	}
	t.secretKey, err = secretKey(o.keyFile, e.clientSecret)
	return t, err
}

// dial connects go-auth0 to AUTH0_DOMAIN through internal/transport. With
// client credentials the transport fetches the token itself, and fetches
// it again when the tenant refuses it (401): go-auth0 would keep a token
// until its own idea of its expiry, and a daemon would fail until
// restarted.
func dial(e auth0Env, observe func(string, int)) (*management.Management, error) {
	u, _ := url.Parse(withScheme(e.domain))
	// No overall client timeout: waits for the rate limit may be long, and
	// the reconcile has its own; a tenant that stops answering is cut off
	// by the header timeout, and the call retried where that is safe.
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.ResponseHeaderTimeout = 60 * time.Second
	opts := transport.Options{Observe: observe}
	if e.accessToken == "" {
		opts.Token = clientCredentials(u, e, &http.Client{Transport: transport.New(base, transport.Options{Observe: observe})})
	}
	client := &http.Client{Transport: transport.New(base, opts)}
	mopts := []management.Option{management.WithClient(client), management.WithNoRetries(), management.WithUserAgent("actionsync")}
	switch {
	case u.Scheme == "http":
		// go-auth0 speaks plain HTTP only with WithInsecure, which sends a
		// fixed token; below it the transport sets the real one.
		mopts = append(mopts, management.WithInsecure())
		if e.accessToken != "" {
			src := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.accessToken})
			client.Transport = &oauth2.Transport{Source: src, Base: client.Transport}
		}
	case e.accessToken != "":
		mopts = append(mopts, management.WithStaticToken(e.accessToken))
	default:
		mopts = append(mopts, management.WithStaticToken("set-by-the-transport"))
	}
	m, err := management.New(u.Host, mopts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", u.Host, err)
	}
	return m, nil
}

// clientCredentials fetches a token for the Management API of u's host,
// through client.
func clientCredentials(u *url.URL, e auth0Env, client *http.Client) func(context.Context) (*oauth2.Token, error) {
	base := u.Scheme + "://" + u.Host
	cc := clientcredentials.Config{ClientID: e.clientID, ClientSecret: e.clientSecret,
		TokenURL: base + "/oauth/token", EndpointParams: url.Values{"audience": {base + "/api/v2/"}}}
	return func(ctx context.Context) (*oauth2.Token, error) {
		return cc.Token(context.WithValue(ctx, oauth2.HTTPClient, client))
	}
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
func connectBuiltin(e auth0Env, o connOptions) (*conn, error) {
	state := filepath.Join(builtinDir, "local-tenant.json")
	if e.env != "" {
		state = filepath.Join(builtinDir, "local-tenant-"+e.env+".json") // each environment its own tenant
	}
	o.log.Warn(e.builtinWhy()+": using the built-in local tenant; nothing reaches a real Auth0 tenant", "state", state)
	lt, err := localtenant.New(localtenant.Options{StatePath: state, BuildDelay: 300 * time.Millisecond, MaxActions: o.maxActions, Logger: o.log})
	if err != nil {
		return nil, err
	}
	client := &http.Client{Transport: transport.New(inProcess{lt}, transport.Options{Observe: o.observe})}
	m, err := management.New("local-tenant.invalid", management.WithClient(client),
		management.WithStaticToken("built-in"), management.WithNoRetries(), management.WithUserAgent("actionsync"))
	if err != nil {
		return nil, err
	}
	key, err := secretKey(o.keyFile, "")
	if err == nil && key == nil {
		key, err = builtinKey(o.readOnly)
	}
	return &conn{api: m, builtin: true, secretKey: key}, err
}

// builtinKey is the built-in tenant's fingerprint key, made and kept in
// .actionsync/secret-key on first use. A dry run keeps nothing: with no key
// kept yet, nothing was ever synced with one, so a key of its own plans the
// same.
func builtinKey(readOnly bool) ([]byte, error) {
	path := filepath.Join(builtinDir, "secret-key")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, nil
	}
	b := make([]byte, 32)
	rand.Read(b)
	if readOnly {
		return b, nil
	}
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
