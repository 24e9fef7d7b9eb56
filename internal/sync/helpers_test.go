package sync_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/source"
	"github.com/actionsync/actionsync/internal/sync"
	"github.com/actionsync/actionsync/internal/transport"
	"github.com/auth0/go-auth0/management"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// npm is a stand-in for the npm registry (not what is under test): it has
// the packages listed, at the versions listed.
func npm(tb testing.TB, pkgs ...string) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(pkgs, strings.TrimPrefix(r.URL.Path, "/")) {
			http.NotFound(w, r)
		}
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// gitRepo is a real Git working tree made by the test.
type gitRepo struct {
	tb   testing.TB
	dir  string
	repo *git.Repository
}

func newGitRepo(tb testing.TB, files map[string]string) *gitRepo {
	tb.Helper()
	dir := tb.TempDir()
	r, err := git.PlainInit(dir, false)
	if err != nil {
		tb.Fatal(err)
	}
	g := &gitRepo{tb: tb, dir: dir, repo: r}
	g.write(files)
	g.commit("initial")
	return g
}

func (g *gitRepo) write(files map[string]string) {
	g.tb.Helper()
	for name, content := range files {
		p := filepath.Join(g.dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			g.tb.Fatal(err)
		}
	}
}

func (g *gitRepo) remove(path string) {
	g.tb.Helper()
	if err := os.RemoveAll(filepath.Join(g.dir, path)); err != nil {
		g.tb.Fatal(err)
	}
}

func (g *gitRepo) commit(msg string) string {
	g.tb.Helper()
	wt, _ := g.repo.Worktree()
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		g.tb.Fatal(err)
	}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}, AllowEmptyCommits: true})
	if err != nil {
		g.tb.Fatal(err)
	}
	return h.String()
}

// revert commits the tree of rev again, as `git revert` of what came after.
func (g *gitRepo) revertTo(rev string, msg string) {
	g.tb.Helper()
	head, _ := g.repo.Head()
	c, _ := g.repo.CommitObject(head.Hash())
	old, _ := g.repo.CommitObject(plumbing.NewHash(rev))
	oldTree, _ := old.Tree()
	files := map[string]string{}
	oldTree.Files().ForEach(func(f *object.File) error {
		s, _ := f.Contents()
		files[f.Name] = s
		return nil
	})
	tree, _ := c.Tree()
	tree.Files().ForEach(func(f *object.File) error {
		if _, ok := files[f.Name]; !ok {
			os.Remove(filepath.Join(g.dir, f.Name))
		}
		return nil
	})
	g.write(files)
	g.commit(msg)
}

// env is a set of environment variables for secret sources.
type env map[string]string

func (e env) opts() manifest.Options {
	return manifest.Options{Getenv: func(k string) string { return e[k] }}
}

// fixture is a tenant, a repo and an engine over real HTTPS and real Git.
type fixture struct {
	t    testing.TB
	srv  *tenanttest.Server
	repo *gitRepo
	env  env
	api  *management.Management
}

func (f *fixture) engine(opts sync.Options) *sync.Engine {
	opts.SecretKey = []byte("fixture-secret-key")
	opts.Manifest = f.env.opts()
	if opts.Poll == 0 {
		opts.Poll = 5 * time.Millisecond
	}
	if testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return sync.New(f.api, sourceOf(f), opts)
}

func sourceOf(f *fixture) sync.Source { return source.LocalGit{Path: f.repo.dir} }

func newFixture(t testing.TB, files map[string]string, topts localtenant.Options) *fixture {
	t.Helper()
	if topts.Registry == "" {
		topts.Registry = npm(t, "lodash/4.17.21", "lodash/4.17.20", "axios/1.7.9")
	}
	if topts.BuildDelay == 0 {
		topts.BuildDelay = 20 * time.Millisecond
	}
	if topts.Node == "" {
		topts.Node = "-" // no code runs, unless a test names node
	}
	srv := tenanttest.Start(t, topts)
	client := &http.Client{Transport: transport.New(srv.HTTP.Transport, transport.Options{})}
	api := srv.NewClient(t, management.WithClient(client), management.WithNoRetries())
	return &fixture{t: t, srv: srv, repo: newGitRepo(t, files), env: env{"ENRICH_API_KEY": "key-1"}, api: api}
}

// reconcile plans and applies, as --once does, and returns the write calls
// it made, as sorted routes (ids replaced by {id}).
func (f *fixture) reconcile(opts sync.Options) (*sync.Result, []string, error) {
	f.t.Helper()
	f.srv.ResetRequests()
	res, err := planAndApply(f.t.Context(), f.engine(opts))
	return res, writes(f.srv), err
}

// plan plans only, as --dry-run does, and returns the write calls it made.
func (f *fixture) plan(opts sync.Options) (*sync.Plan, []string, error) {
	f.t.Helper()
	f.srv.ResetRequests()
	p, err := f.engine(opts).Plan(f.t.Context())
	return p, writes(f.srv), err
}

// planAndApply is one --once run: a plan, then its changes.
func planAndApply(ctx context.Context, e *sync.Engine) (*sync.Result, error) {
	p, err := e.Plan(ctx)
	if err != nil {
		return nil, err
	}
	return e.Apply(ctx, p)
}

func writes(srv *tenanttest.Server) []string {
	var out []string
	for _, r := range tenanttest.Writes(srv.Requests()) {
		if r.Fault == "" && r.Status < 500 {
			out = append(out, transport.Route(r.Method, r.Path))
		}
	}
	slices.Sort(out)
	return out
}

func reads(srv *tenanttest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == http.MethodGet {
			n++
		}
	}
	return n
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	slices.Sort(out)
	return out
}
