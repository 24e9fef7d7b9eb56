package manifest_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/actionsync/actionsync/internal/manifest"
)

// TestConfig: actionsync.yaml is optional, and names the owner when there.
func TestConfig(t *testing.T) {
	action := fstest.MapFS{
		"actions/a/action.yaml": {Data: []byte("trigger:\n  id: post-login\n")},
		"actions/a/index.js":    {Data: []byte("exports.x = 1;\n")},
	}
	for _, tc := range []struct {
		name   string
		config string // "" for no file
		want   string
	}{
		{"no file", "", ""},
		{"an owner", "owner: identity-team.v2\n", "identity-team.v2"},
		{"an empty file", "# nothing yet\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for k, v := range action {
				fsys[k] = v
			}
			if tc.config != "" {
				fsys[manifest.ConfigFile] = &fstest.MapFile{Data: []byte(tc.config)}
			}
			r, err := manifest.Load(fsys, testOpts())
			if err != nil {
				t.Fatal(err)
			}
			if r.Config.Owner != tc.want {
				t.Errorf("owner = %q, want %q", r.Config.Owner, tc.want)
			}
		})
	}
}

func TestValidOwner(t *testing.T) {
	for name, ok := range map[string]bool{
		"actionsync": true, "team-a": true, "a_b.c-9": true,
		"": false, "Team": false, "a b": false, "a,b": false, "a:b": false, "a=b": false,
		"x234567890123456789012345678901234567890123456789012345678901234":  true,
		"x2345678901234567890123456789012345678901234567890123456789012345": false,
	} {
		if got := manifest.ValidOwner(name) == nil; got != ok {
			t.Errorf("ValidOwner(%q) ok = %v, want %v", name, got, ok)
		}
	}
}

// envRepo is a repo of two actions with secrets, and two environments.
func envRepo() fstest.MapFS {
	return fstest.MapFS{
		"actions/enrich/action.yaml": {Data: []byte("trigger:\n  id: post-login\nsecrets:\n  - name: API_KEY\n    from_env: DEV_KEY\n")},
		"actions/enrich/index.js":    {Data: []byte("exports.x = 1;\n")},
		"actions/debug/action.yaml":  {Data: []byte("trigger:\n  id: post-login\nsecrets:\n  - name: TOKEN\n    from_env: DEBUG_TOKEN\n")},
		"actions/debug/index.js":     {Data: []byte("exports.x = 2;\n")},
		"triggers.yaml":              {Data: []byte("post-login:\n  - debug\n  - enrich\n")},
		manifest.ConfigFile: {Data: []byte(`owner: identity
environments:
  dev:
    domain: local
    ref: main
  prod:
    domain_env: PROD_DOMAIN
    token_env: PROD_TOKEN
    ref: release
    exclude: [debug]
    secrets:
      enrich:
        API_KEY: {from_env: PROD_KEY}
        REGION: {value: eu}
  stale:
    domain: local
    ref: main
    exclude: [gone]
    secrets:
      ghost: {K: {value: v}}
`)},
	}
}

// TestEnvironments: an environment's overlay leaves its excluded actions
// out of the desired state and the bindings, and replaces or adds secret
// sources; without one the repo loads as committed.
func TestEnvironments(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     string
		vars    map[string]string
		actions string // name:SECRET=value,... of each action
		binds   string
		err     string
	}{
		{name: "as committed", vars: map[string]string{"DEV_KEY": "d1", "DEBUG_TOKEN": "t1"},
			actions: "debug:TOKEN=t1 enrich:API_KEY=d1", binds: "debug enrich"},
		{name: "dev", env: "dev", vars: map[string]string{"DEV_KEY": "d1", "DEBUG_TOKEN": "t1"},
			actions: "debug:TOKEN=t1 enrich:API_KEY=d1", binds: "debug enrich"},
		{name: "prod reads its own sources, not the excluded action's", env: "prod", vars: map[string]string{"PROD_KEY": "p1"},
			actions: "enrich:API_KEY=p1,REGION=eu", binds: "enrich"},
		{name: "prod's source unset", env: "prod", vars: map[string]string{"DEV_KEY": "d1"},
			err: "actionsync.yaml:13: environments.prod.secrets.enrich: secret API_KEY: $PROD_KEY is unset or empty"},
		{name: "names no action of the repo", env: "stale", vars: map[string]string{"DEV_KEY": "d1", "DEBUG_TOKEN": "t1"},
			err: "actionsync.yaml:18: environments.stale.exclude: gone is no action of the repo\nactionsync.yaml:20: environments.stale.secrets: ghost is no action of the repo"},
		{name: "an environment not defined", env: "staging", vars: map[string]string{"DEV_KEY": "d1", "DEBUG_TOKEN": "t1"},
			err: `actionsync.yaml: no environment "staging" (defined: dev, prod, stale)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := manifest.Load(envRepo(), manifest.Options{Environment: tc.env, Getenv: func(k string) string { return tc.vars[k] }})
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, a := range r.Actions {
				var secrets []string
				for _, s := range a.Secrets {
					secrets = append(secrets, s.Name+"="+s.Value)
				}
				actions = append(actions, a.Name+":"+strings.Join(secrets, ","))
			}
			var binds []string
			for _, b := range r.Trigger("post-login").Bindings {
				binds = append(binds, b.Action)
			}
			if got := strings.Join(actions, " "); got != tc.actions {
				t.Errorf("actions = %q, want %q", got, tc.actions)
			}
			if got := strings.Join(binds, " "); got != tc.binds {
				t.Errorf("bindings = %q, want %q", got, tc.binds)
			}
		})
	}
}

// TestEnvironmentSettings: the tenant settings are read as written.
func TestEnvironmentSettings(t *testing.T) {
	r, err := manifest.Load(envRepo(), manifest.Options{Getenv: func(string) string { return "v" }})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Config
	if got := strings.Join(c.EnvironmentNames(), ","); got != "dev,prod,stale" {
		t.Fatalf("environments %q", got)
	}
	prod := c.Environment("prod")
	want := manifest.Tenant{DomainEnv: "PROD_DOMAIN", TokenEnv: "PROD_TOKEN"}
	if prod.Tenant != want || prod.Ref != "release" || strings.Join(prod.Exclude, ",") != "debug" || len(prod.Secrets) != 2 {
		t.Errorf("prod = %+v", prod)
	}
	if got := prod.Secrets[1].Secret.String(); got != "REGION (a value in actionsync.yaml)" {
		t.Errorf("a literal's String() = %q", got)
	}
}

func TestValidDomain(t *testing.T) {
	for domain, ok := range map[string]bool{
		"local": true, "acme.eu.auth0.com": true, "https://acme.eu.auth0.com": true,
		"http://127.0.0.1:4000": true, "http://localhost:4000": true, "http://[::1]:4000": true,
		"http://acme.eu.auth0.com": false, "ftp://x": false, "": false, "https://": false,
	} {
		if got := manifest.ValidDomain(domain) == nil; got != ok {
			t.Errorf("ValidDomain(%q) ok = %v, want %v", domain, got, ok)
		}
	}
}
