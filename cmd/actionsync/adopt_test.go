package main_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/source/gittest"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
	"golang.org/x/oauth2/clientcredentials"
)

// openTenant serves a local tenant on plain HTTP on loopback that takes any
// token, and returns it, a go-auth0 client of it (to seed it by hand, as
// the dashboard would) and the environment that points the binary at it.
func openTenant(t *testing.T) (*localtenant.Tenant, *management.Management, []string) {
	t.Helper()
	lt, err := localtenant.New(localtenant.Options{BuildDelay: 20 * time.Millisecond, Node: "-"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(lt)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	api, err := management.New(u.Host, management.WithInsecure(), management.WithNoRetries())
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "key")
	os.WriteFile(key, []byte("a-key-of-at-least-sixteen-characters"), 0o600)
	return lt, api, []string{"AUTH0_DOMAIN=" + srv.URL, "AUTH0_ACCESS_TOKEN=any", "ACTIONSYNC_SECRET_KEY_FILE=" + key, "ENRICH_API_KEY=k1"}
}

// TestBuiltinOnlyForTrials: with no AUTH0_DOMAIN, a CI job and a daemon
// following a Git URL are refused before anything is written; a person
// trying things, or AUTH0_DOMAIN=local, gets the built-in tenant.
func TestBuiltinOnlyForTrials(t *testing.T) {
	repo := exampleRepo(t)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
	}{
		{"CI, --once", []string{"CI=true"}, []string{"--once", "--repo", repo}, 1},
		{"CI, --dry-run", []string{"CI=1"}, []string{"--dry-run", "--repo", repo}, 1},
		{"CI, status", []string{"CI=true"}, []string{"status", "--repo", repo}, 1},
		{"CI, export", []string{"CI=true"}, []string{"export", "--out", "out"}, 1},
		{"a daemon following a Git URL", nil, []string{"--repo", "file:///nowhere/actions.git", "--listen", "127.0.0.1:0"}, 1},
		{"AUTH0_DOMAIN=local in CI", []string{"CI=true", "AUTH0_DOMAIN=local"}, []string{"--once", "--repo", repo}, 0},
		{"CI=false is no CI", []string{"CI=false"}, []string{"--once", "--repo", repo}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			r := run(t, work, tc.env, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			_, err := os.Stat(filepath.Join(work, ".actionsync"))
			if tc.code == 1 {
				if !strings.Contains(r.stderr, "AUTH0_DOMAIN is not set") {
					t.Errorf("stderr lacks the reason:\n%s", r.stderr)
				}
				if !errors.Is(err, os.ErrNotExist) {
					t.Errorf(".actionsync/ was written: %v", err)
				}
			} else if err != nil {
				t.Errorf("the built-in tenant kept no state: %v", err)
			}
		})
	}
}

// exampleWorkTree commits the example repo into a new Git work tree.
func exampleWorkTree(t *testing.T) (*gittest.Repo, string) {
	t.Helper()
	g := gittest.New(t)
	if err := os.CopyFS(g.Dir, os.DirFS("../../examples/repo")); err != nil {
		t.Fatal(err)
	}
	return g, g.Commit(nil)
}

// TestRevisionIsTheCommit: a work tree's revision is HEAD, with -dirty when
// it differs, in the plan, the summary, the logs and the stamp.
func TestRevisionIsTheCommit(t *testing.T) {
	_, api, env := openTenant(t)
	g, head := exampleWorkTree(t)
	r := run(t, t.TempDir(), env, "--dry-run", "--repo", g.Dir, "--output", "json")
	var plan struct{ Revision string }
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil || plan.Revision != head {
		t.Errorf("clean: revision %q (%v), want %s", plan.Revision, err, head)
	}
	r = run(t, t.TempDir(), env, "--dry-run", "--repo", g.Dir, "--output", "markdown")
	if !strings.Contains(r.stdout, "### actionsync plan for `"+head+"`") {
		t.Errorf("the markdown plan does not name the commit:\n%s", r.stdout)
	}

	g.Write(map[string]string{"actions/deny-blocked-ips/index.js": "exports.onExecutePostLogin = async () => {};\n"})
	r = run(t, t.TempDir(), env, "--once", "--repo", g.Dir, "--log-format", "json")
	dirty := head + "-dirty"
	if r.code != 0 || !strings.Contains(r.stdout, "Applied "+dirty+":") || !strings.Contains(r.stderr, `"commit":"`+dirty+`"`) {
		t.Errorf("dirty: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	l, err := api.Action.List(t.Context(), management.Parameter("actionName", "deny-blocked-ips"))
	if err != nil || !strings.Contains(l.Actions[0].GetCode(), " commit="+dirty) {
		t.Errorf("the stamp does not name %s: %v", dirty, err)
	}
}

// TestExportThenSync: export a hand-made tenant, and the repo it writes
// adopts it: a dry run of adopt steps only, --once, then nothing to do.
func TestExportThenSync(t *testing.T) {
	lt, api, env := openTenant(t)
	tenanttest.Seed(t, api,
		tenanttest.Action{Name: "Hand Made", Trigger: "post-login", Code: "exports.onExecutePostLogin = async () => {};\n", Deploy: true},
		tenanttest.Action{Name: "m2m", Trigger: "credentials-exchange", Code: "exports.onExecuteCredentialsExchange = async () => {};\n", Deploy: true},
	)
	tenanttest.Bind(t, api, "post-login", "Hand Made|Hand made")
	dir := filepath.Join(t.TempDir(), "repo")
	work := t.TempDir()
	r := run(t, work, env, "export", "--out", dir, "--owner", "team-a")
	if r.code != 0 || !strings.Contains(r.stdout, `"Hand Made": actions/hand-made (version 1)`) {
		t.Fatalf("export: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	seeded := writeCount(lt)
	r = run(t, work, env, "--dry-run", "--repo", dir, "--output", "json")
	var plan struct {
		Steps []struct{ Kind, Action string }
	}
	json.Unmarshal([]byte(r.stdout), &plan)
	if r.code != 2 || len(plan.Steps) != 2 || plan.Steps[0].Kind != "adopt" || plan.Steps[1].Kind != "adopt" {
		t.Errorf("dry run after export: exit %d\n%s", r.code, r.stdout)
	}
	if n := writeCount(lt) - seeded; n != 0 {
		t.Errorf("the export and the dry run made %d writes", n)
	}
	for _, args := range [][]string{{"--once", "--repo", dir}, {"--dry-run", "--repo", dir}, {"status", "--repo", dir}} {
		if r = run(t, work, env, args...); r.code != 0 {
			t.Errorf("%v: exit %d\n%s\n%s", args, r.code, r.stdout, r.stderr)
		}
	}
	if r = run(t, work, env, "export", "--out", dir); r.code != 1 || !strings.Contains(r.stderr, "not empty") {
		t.Errorf("export into a full directory: exit %d\n%s", r.code, r.stderr)
	}
}

// TestStatusExitCodes: 0 when the tenant runs the commit, 2 when it does
// not, naming the commit it runs.
func TestStatusExitCodes(t *testing.T) {
	_, _, env := openTenant(t)
	g, first := exampleWorkTree(t)
	work := t.TempDir()
	if r := run(t, work, env, "--once", "--repo", g.Dir); r.code != 0 {
		t.Fatalf("--once: exit %d\n%s", r.code, r.stderr)
	}
	if r := run(t, work, env, "status", "--repo", g.Dir); r.code != 0 || !strings.Contains(r.stdout, "the tenant matches the commit") {
		t.Errorf("status in sync: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	g.Commit(map[string]string{"actions/deny-blocked-ips/index.js": "exports.onExecutePostLogin = async () => {};\n"})
	r := run(t, work, env, "status", "--repo", g.Dir, "--output", "json")
	var rep struct {
		InSync  bool `json:"in_sync"`
		Actions []struct {
			Action, State string
			Matches       string `json:"matches_commit"`
		}
	}
	json.Unmarshal([]byte(r.stdout), &rep)
	if r.code != 2 || rep.InSync || rep.Actions[1].Action != "deny-blocked-ips" || rep.Actions[1].State != "differs" || rep.Actions[1].Matches != first {
		t.Errorf("status behind: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestMaxActions: a plan that creates past the limit is exit 1 with zero
// writes; local-tenant --max-actions sets the local tenant's limit, which
// refuses the create past it.
func TestMaxActions(t *testing.T) {
	lt, _, env := openTenant(t)
	repo := exampleRepo(t)
	r := run(t, t.TempDir(), env, "--once", "--repo", repo, "--max-actions", "3")
	if r.code != 1 || !strings.Contains(r.stderr, "leaves 4 actions") || !strings.Contains(r.stderr, "limit of 3 actions per tenant") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	if n := writeCount(lt); n != 0 {
		t.Errorf("%d writes past the limit", n)
	}

	ltURL, _ := localTenantProcess(t, "--max-actions", "2", "--build-delay", "0s")
	u, _ := url.Parse(ltURL)
	// go-auth0 speaks plain HTTP only with WithInsecure's fixed token; a
	// client-credentials transport puts the tenant's own token in its place.
	cc := clientcredentials.Config{ClientID: "cid", ClientSecret: "csec", TokenURL: ltURL + "/oauth/token"}
	api, err := management.New(u.Host, management.WithInsecure(), management.WithNoRetries(), management.WithClient(cc.Client(t.Context())))
	if err != nil {
		t.Fatal(err)
	}
	code := auth0.String("exports.onExecutePostLogin = async () => {};\n")
	trigger := []management.ActionTrigger{{ID: auth0.String("post-login"), Version: auth0.String("v3")}}
	for i, want := range []string{"", "", "403 Forbidden: You reached the limit of entities"} {
		err := api.Action.Create(t.Context(), &management.Action{Name: auth0.String(fmt.Sprint("a", i)), Code: code, SupportedTriggers: trigger})
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("create %d on local-tenant --max-actions 2: %v, want %q", i+1, err, want)
		}
	}
}
