package cli

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/sync"
)

// TestRepoSchemes: --repo takes https, ssh, git@host:path, file and
// loopback http; any other scheme is refused before anything starts.
func TestRepoSchemes(t *testing.T) {
	for _, tc := range []struct {
		repo string
		want string // "" for accepted
	}{
		{"https://github.com/org/actions.git", ""},
		{"ssh://git@github.com/org/actions.git", ""},
		{"git@github.com:org/actions.git", ""},
		{"file:///srv/git/actions.git", ""},
		{"http://127.0.0.1:8080/actions.git", ""},
		{"http://[::1]/actions.git", ""},
		{"http://localhost/actions.git", ""},
		{"ftp://example.com/actions.git", `scheme "ftp"`},
		{"git://example.com/actions.git", `scheme "git"`},
		{"http://example.com/actions.git", "loopback addresses only"},
		{"https:///actions.git", "no host"},
		{"https://user:hunter2@example.com:bad/x", "--repo https://user:xxxxx@example.com:bad/x"},
	} {
		t.Run(tc.repo, func(t *testing.T) {
			err := (&repoFlags{repo: tc.repo, branch: "main"}).validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Errorf("the error shows the URL's password: %v", err)
			}
		})
	}
}

// TestDryRunOnTheBuiltinTenantWritesNothing: a dry run on the built-in
// tenant leaves the working directory as it was: no .actionsync/ at all.
func TestDryRunOnTheBuiltinTenantWritesNothing(t *testing.T) {
	repo, err := filepath.Abs("../../examples/repo")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	t.Chdir(work)
	// The built-in tenant, chosen explicitly: CI runners set CI, where a
	// missing AUTH0_DOMAIN is an error.
	t.Setenv("AUTH0_DOMAIN", "local")
	var stdout, stderr bytes.Buffer
	if code := Run(t.Context(), []string{"--dry-run", "--repo", repo}, &stdout, &stderr); code != exitPending {
		t.Fatalf("exit %d, want 2\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if entries, _ := os.ReadDir(work); len(entries) != 0 {
		t.Errorf("the dry run wrote %v", entries)
	}
}

// TestTokenRefreshedByDial: a client-credentials token the tenant refuses
// as expired (its clock ran past the token's expiry) is fetched again, and
// the call succeeds: a daemon does not fail with 401 until restarted.
func TestTokenRefreshedByDial(t *testing.T) {
	clock := tenanttest.NewClock()
	lt, err := localtenant.New(localtenant.Options{Node: "-", ClientID: "cid", ClientSecret: "csec", Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(lt)
	t.Cleanup(srv.Close)
	api, err := dial(auth0Env{domain: srv.URL, clientID: "cid", clientSecret: "csec"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Action.List(t.Context()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(25 * time.Hour)
	if _, err := api.Action.List(t.Context()); err != nil {
		t.Fatalf("after the token expired at the tenant: %v", err)
	}
	tokens := 0
	for _, r := range lt.Requests() {
		if r.Path == "/oauth/token" {
			tokens++
		}
	}
	if tokens != 2 {
		t.Errorf("%d tokens fetched, want 2", tokens)
	}
}

// TestOnceSummaryEscapes: the --once summary shows a hostile name quoted
// and an error's control characters escaped.
func TestOnceSummaryEscapes(t *testing.T) {
	res := &sync.Result{Revision: "c1", Plan: &diff.Plan{Steps: []diff.Step{{Kind: diff.Create}, {Kind: diff.Update}}},
		Applied: []sync.StepResult{
			{Kind: diff.Create, Subject: "\x1b[2J\x1b[Hfake", Version: 1},
			{Kind: diff.Update, Subject: "a\u202eb", Err: errors.New("refused:\x1b[31m red\nnext line")},
		}}
	out := summary(res)
	for _, r := range out {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
			t.Fatalf("the summary holds %U:\n%q", r, out)
		}
	}
	for _, want := range []string{`create "\x1b[2J\x1b[Hfake" (version 1)`, `update "a\u202eb": refused:\x1b[31m red next line`} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %s:\n%s", want, out)
		}
	}
}

// TestParallelBounded: --parallel is 1 to 64, for sync and test alike; a
// typo of 10000 is refused, not 10,000 node processes or requests in
// flight.
func TestParallelBounded(t *testing.T) {
	for _, tc := range []struct {
		n  int
		ok bool
	}{{0, false}, {1, true}, {64, true}, {65, false}, {10000, false}} {
		if err := (&engineFlags{parallel: tc.n, maxActions: 100}).validate(); (err == nil) != tc.ok {
			t.Errorf("sync --parallel %d: %v", tc.n, err)
		}
		err := validParallel(tc.n)
		if (err == nil) != tc.ok {
			t.Errorf("test --parallel %d: %v", tc.n, err)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "want 1 to 64")) {
			t.Errorf("--parallel %d: %v, want it to say the bound", tc.n, err)
		}
	}
}

// TestPrivateFiles: what a repo's from_file may not read includes the
// credential homes (~/.netrc, ~/.gitconfig, ~/.aws, ...), and the Git work
// tree that holds a --repo given through a symbolic link, found from where
// the link leads.
func TestPrivateFiles(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	work := t.TempDir()
	os.MkdirAll(filepath.Join(work, ".git"), 0o755)
	os.MkdirAll(filepath.Join(work, "deploy"), 0o755)
	link := filepath.Join(t.TempDir(), "lnk")
	if err := os.Symlink(filepath.Join(work, "deploy"), link); err != nil {
		t.Fatal(err)
	}
	got := (&repoFlags{repo: link}).private()
	realWork, _ := filepath.EvalSymlinks(work)
	for _, want := range []string{filepath.Join(home, ".netrc"), filepath.Join(home, ".gitconfig"), filepath.Join(home, ".aws"), realWork, link} {
		if !slices.Contains(got, want) {
			t.Errorf("private = %q, want it to hold %s", got, want)
		}
	}
}
