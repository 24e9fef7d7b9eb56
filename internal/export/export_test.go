package export_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/export"
	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/source"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/sync"
	"github.com/auth0/go-auth0/management"
)

const (
	enrichV1 = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('x', 1); };\n"
	denyV1   = "exports.onExecutePostLogin = async (event, api) => {};\n"
	denyV2   = "exports.onExecutePostLogin = async (event, api) => { api.access.deny('closed'); };\n"
	m2mCode  = "exports.onExecuteCredentialsExchange = async (event, api) => {};\n"
)

// mixedTenant is a tenant made by hand through the API: secrets, two
// triggers, a draft ahead of its deployed version, a Marketplace
// integration, an action never deployed, names that are no directory
// names.
func mixedTenant(t *testing.T) *tenanttest.Server {
	t.Helper()
	srv := tenanttest.Start(t, localtenant.Options{BuildDelay: 10 * time.Millisecond, Node: "-"})
	tenanttest.Seed(t, srv.API,
		tenanttest.Action{Name: "Enrich Profile", Trigger: "post-login", Code: enrichV1, Deploy: true,
			Deps: map[string]string{"lodash": "4.17.21"}, Secrets: map[string]string{"API_KEY": "s3cret"}},
		tenanttest.Action{Name: "Deny Blocked IPs!", Trigger: "post-login", Code: denyV1, Deploy: true, Draft: denyV2},
		tenanttest.Action{Name: "m2m/claims", Trigger: "credentials-exchange", Code: m2mCode, Deploy: true},
		tenanttest.Action{Name: "never deployed", Trigger: "post-login", Code: denyV1},
	)
	if _, err := srv.InstallIntegration("fraud-check", "post-login"); err != nil {
		t.Fatal(err)
	}
	tenanttest.Bind(t, srv.API, "post-login", "fraud-check", "Enrich Profile|Enrich profile", "Deny Blocked IPs!")
	tenanttest.Bind(t, srv.API, "credentials-exchange", "m2m/claims")
	return srv
}

func exportTo(t *testing.T, srv *tenanttest.Server, dir string, opts export.Options) *export.Report {
	t.Helper()
	st, err := export.Read(t.Context(), live.NewClient(srv.API))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := export.Write(dir, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExportFiles(t *testing.T) {
	srv := mixedTenant(t)
	dir := filepath.Join(t.TempDir(), "repo")
	rep := exportTo(t, srv, dir, export.Options{Owner: "identity"})

	for file, want := range map[string]string{
		"triggers.yaml":                        "credentials-exchange:\n  - m2m/claims\npost-login:\n  - fraud-check\n  - name: Enrich Profile\n    display_name: Enrich profile\n  - Deny Blocked IPs!\n",
		"actionsync.yaml":                      "owner: identity\n",
		"actions/enrich-profile/index.js":      enrichV1,
		"actions/deny-blocked-ips/index.js":    denyV1,
		"actions/never-deployed/index.js":      denyV1,
		"actions/enrich-profile/action.yaml":   "name: Enrich Profile\nruntime: node22\ntrigger:\n  id: post-login\n  version: v3\ncode: index.js\ndependencies:\n  - name: lodash\n    version: 4.17.21\nsecrets:\n  - name: API_KEY\n    from_env: ENRICH_PROFILE_API_KEY\n",
		"actions/m2m-claims/action.yaml":       "name: m2m/claims\nruntime: node22\ntrigger:\n  id: credentials-exchange\n  version: v2\ncode: index.js\n",
		"actions/never-deployed/action.yaml":   "name: never deployed\nruntime: node22\ntrigger:\n  id: post-login\n  version: v3\ncode: index.js\n",
		"actions/deny-blocked-ips/action.yaml": "name: Deny Blocked IPs!\nruntime: node22\ntrigger:\n  id: post-login\n  version: v3\ncode: index.js\n",
		"actions/m2m-claims/index.js":          m2mCode,
	} {
		if got := readFile(t, filepath.Join(dir, file)); got != want {
			t.Errorf("%s:\n%s\nwant:\n%s", file, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "actions", "fraud-check")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the integration was exported as a directory: %v", err)
	}
	notes := map[string]string{}
	for _, a := range rep.Actions {
		notes[a.Action] = string(a.From) + ": " + strings.Join(a.Notes, "; ")
	}
	for name, want := range map[string]string{
		"Deny Blocked IPs!": "deployed: its draft is ahead of version 1 (code): exported version 1, which is what runs; a sync replaces the draft",
		"never deployed":    "draft: never deployed: exported its draft",
		"fraud-check":       "integration: a Marketplace integration: bound by name in triggers.yaml, not exported",
		"Enrich Profile":    "deployed: ",
	} {
		if notes[name] != want {
			t.Errorf("%s: %q, want %q", name, notes[name], want)
		}
	}
	if !slices.Equal(rep.Env, []string{"ENRICH_PROFILE_API_KEY"}) || len(rep.Problems) != 0 {
		t.Errorf("env %v, problems %v", rep.Env, rep.Problems)
	}
	if strings.Contains(readFile(t, filepath.Join(dir, "actions/enrich-profile/action.yaml")), "s3cret") {
		t.Error("a secret value reached the export")
	}
}

// TestRoundTrip: an export of a hand-made tenant loads, a dry run plans
// only adopt steps, applying them changes nothing that runs, and then the
// tenant is in sync.
func TestRoundTrip(t *testing.T) {
	srv := mixedTenant(t)
	dir := filepath.Join(t.TempDir(), "repo")
	exportTo(t, srv, dir, export.Options{})
	env := map[string]string{"ENRICH_PROFILE_API_KEY": "s3cret"}
	mopts := manifest.Options{Getenv: func(k string) string { return env[k] }}
	if _, err := manifest.Load(os.DirFS(dir), mopts); err != nil {
		t.Fatalf("the export does not load: %v", err)
	}
	eng := sync.New(srv.API, source.Dir(dir), sync.Options{SecretKey: []byte("round-trip-key"), Manifest: mopts, Poll: 5 * time.Millisecond})
	before := deployedBodies(t, srv.API)

	srv.ResetRequests()
	p, err := eng.Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, s := range p.Changes.Steps {
		kinds = append(kinds, string(s.Kind)+" "+s.Action)
	}
	want := []string{"adopt Deny Blocked IPs!", "adopt Enrich Profile", "adopt m2m/claims", "adopt never deployed"}
	if !slices.Equal(kinds, want) {
		t.Errorf("the dry run plans %q, want %q", kinds, want)
	}
	if n := len(tenanttest.Writes(srv.Requests())); n != 0 {
		t.Errorf("the dry run made %d writes", n)
	}

	if _, err := eng.Apply(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	after := deployedBodies(t, srv.API)
	for name, body := range before {
		if after[name] != body {
			t.Errorf("%s: adopting changed what runs:\n%s\nwas:\n%s", name, after[name], body)
		}
	}
	if got := tenanttest.Order(t, srv.API, "post-login"); !slices.Equal(got, []string{"fraud-check|fraud-check", "Enrich Profile|Enrich profile", "Deny Blocked IPs!|Deny Blocked IPs!"}) {
		t.Errorf("post-login order = %q", got)
	}

	srv.ResetRequests()
	again, err := eng.Plan(t.Context())
	if err != nil || !again.Changes.Empty() {
		t.Fatalf("after adopting: %v, %+v", err, again.Changes.Steps)
	}
}

// deployedBodies maps each deployed action to its deployed code without
// the stamp.
func deployedBodies(t *testing.T, api *management.Management) map[string]string {
	t.Helper()
	l, err := api.Action.List(context.Background(), management.PerPage(100))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range l.Actions {
		if a.DeployedVersion != nil {
			out[a.GetName()] = stamp.Body(a.DeployedVersion.GetCode())
		}
	}
	return out
}

func TestDirMustBeEmpty(t *testing.T) {
	srv := mixedTenant(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	st, err := export.Read(t.Context(), live.NewClient(srv.API))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := export.Write(dir, st, export.Options{}); !errors.Is(err, export.ErrNotEmpty) {
		t.Errorf("error = %v, want ErrNotEmpty", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a refused export wrote %d entries", len(entries)-1)
	}
	if _, err := export.Write(dir, st, export.Options{Force: true}); err != nil {
		t.Fatalf("--force: %v", err)
	}
	if readFile(t, filepath.Join(dir, "notes.txt")) != "mine" {
		t.Error("--force touched a file it does not write")
	}
}

func TestDirName(t *testing.T) {
	for name, want := range map[string]string{
		"enrich-profile":         "enrich-profile",
		"Deny Blocked IPs!":      "deny-blocked-ips",
		"../../etc/passwd":       "etc-passwd",
		".hidden":                "hidden",
		"a/b\\c":                 "a-b-c",
		"Ünïcode name":           "n-code-name",
		"!!!":                    "action",
		"snake_case.v2":          "snake_case.v2",
		strings.Repeat("x", 100): strings.Repeat("x", 64),
	} {
		if got := export.DirName(name); got != want {
			t.Errorf("DirName(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestDirNamesCollide(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{BuildDelay: time.Millisecond, Node: "-"})
	tenanttest.Seed(t, srv.API,
		tenanttest.Action{Name: "Same Name", Trigger: "post-login", Code: denyV1, Deploy: true},
		tenanttest.Action{Name: "same-name", Trigger: "post-login", Code: denyV1, Deploy: true},
	)
	rep := exportTo(t, srv, t.TempDir(), export.Options{})
	var dirs []string
	for _, a := range rep.Actions {
		dirs = append(dirs, a.Action+" → "+a.Dir)
	}
	if want := []string{"Same Name → actions/same-name", "same-name → actions/same-name-2"}; !slices.Equal(dirs, want) || len(rep.Problems) != 0 {
		t.Errorf("dirs %q, want %q; problems %v", dirs, want, rep.Problems)
	}
}

func TestEnvName(t *testing.T) {
	for _, tc := range []struct{ dir, secret, want string }{
		{"enrich-profile", "API_KEY", "ENRICH_PROFILE_API_KEY"},
		{"snake_case.v2", "key", "SNAKE_CASE_V2_KEY"},
		{"2fa", "SEED", "ACTION_2FA_SEED"},
	} {
		if got := export.EnvName(tc.dir, tc.secret); got != tc.want {
			t.Errorf("EnvName(%q, %q) = %q, want %q", tc.dir, tc.secret, got, tc.want)
		}
	}
}

// TestProblemsReported: what the tenant accepts but a repo may not hold (a
// dependency at a range) is reported with its file and line.
func TestProblemsReported(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{BuildDelay: time.Millisecond, Node: "-"})
	tenanttest.Seed(t, srv.API, tenanttest.Action{Name: "ranged", Trigger: "post-login", Code: denyV1, Deploy: true, Deps: map[string]string{"lodash": "^4.17.0"}})
	rep := exportTo(t, srv, t.TempDir(), export.Options{})
	if len(rep.Problems) != 1 || !strings.HasPrefix(rep.Problems[0], "actions/ranged/action.yaml:7:") || !strings.Contains(rep.Problems[0], `"^4.17.0"`) {
		t.Errorf("problems = %q", rep.Problems)
	}
}

// moduleTenant is a tenant made by hand with a module, published twice,
// that two actions use: one at version 2, one still at version 1.
func moduleTenant(t *testing.T) *tenanttest.Server {
	t.Helper()
	srv := tenanttest.Start(t, localtenant.Options{BuildDelay: 10 * time.Millisecond, Node: "-"})
	// go-auth0's plain request sends its payload and decodes the answer
	// into it.
	request := func(method, path, body string) map[string]any {
		t.Helper()
		payload := map[string]any{}
		if body != "" {
			json.Unmarshal([]byte(body), &payload)
		}
		if err := srv.API.Request(t.Context(), method, srv.API.URI(append([]string{"actions"}, strings.Split(path, "/")...)...), &payload); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return payload
	}
	id := request("POST", "modules", `{"name":"claims","code":"exports.v = 1;\n","publish":true,"secrets":[{"name":"TOKEN","value":"s3cret"}],"dependencies":[{"name":"lodash","version":"4.17.21"}]}`)["id"].(string)
	request("PATCH", "modules/"+id, `{"code":"exports.v = 2;\n"}`)
	request("POST", "modules/"+id+"/versions", "")
	for name, version := range map[string]int{"new": 2, "old": 1} {
		code := "const c = require('actions:claims');\n" + denyV1
		request("POST", "actions", fmt.Sprintf(`{"name":%q,"supported_triggers":[{"id":"post-login","version":"v3"}],"code":%q,"modules":[{"module_name":"claims","module_version_number":%d}],"deploy":true}`, name, code, version))
	}
	return srv
}

// TestExportModules: a module exports as modules/<dir>/ from its latest
// published version, secrets as placeholders, and the actions list it;
// a dry run after plans only adopt steps, and after those the tenant is in
// sync.
func TestExportModules(t *testing.T) {
	srv := moduleTenant(t)
	dir := filepath.Join(t.TempDir(), "repo")
	rep := exportTo(t, srv, dir, export.Options{})
	for file, want := range map[string]string{
		"modules/claims/module.yaml": "code: index.js\ndependencies:\n  - name: lodash\n    version: 4.17.21\nsecrets:\n  - name: TOKEN\n    from_env: MODULE_CLAIMS_TOKEN\n",
		"modules/claims/index.js":    "exports.v = 2;\n",
		"actions/new/action.yaml":    "runtime: node22\ntrigger:\n  id: post-login\n  version: v3\ncode: index.js\nmodules:\n  - claims\n",
		"actions/old/action.yaml":    "runtime: node22\ntrigger:\n  id: post-login\n  version: v3\ncode: index.js\nmodules:\n  - claims\n",
	} {
		if got := readFile(t, filepath.Join(dir, file)); got != want {
			t.Errorf("%s:\n%s\nwant:\n%s", file, got, want)
		}
	}
	if len(rep.Modules) != 1 || rep.Modules[0].Version != 2 || !slices.Equal(rep.Modules[0].Notes, []string{`action "old" runs version 1: a sync moves it to the version that holds the export`}) {
		t.Errorf("modules = %+v", rep.Modules)
	}
	if !slices.Equal(rep.Env, []string{"MODULE_CLAIMS_TOKEN"}) || len(rep.Problems) != 0 {
		t.Errorf("env %v, problems %v", rep.Env, rep.Problems)
	}

	mopts := manifest.Options{Getenv: func(string) string { return "s3cret" }}
	eng := sync.New(srv.API, source.Dir(dir), sync.Options{SecretKey: []byte("k"), Manifest: mopts, Poll: 5 * time.Millisecond})
	p, err := eng.Plan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, s := range p.Changes.Steps {
		kinds = append(kinds, string(s.Kind)+" "+s.Action+s.Module)
	}
	if want := []string{"module-adopt claims", "adopt new", "adopt old"}; !slices.Equal(kinds, want) {
		t.Errorf("the dry run plans %q, want %q", kinds, want)
	}
	if _, err := eng.Apply(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if again, err := eng.Plan(t.Context()); err != nil || !again.Changes.Empty() {
		t.Fatalf("after adopting: %v, %+v", err, again.Changes.Steps)
	}
}
