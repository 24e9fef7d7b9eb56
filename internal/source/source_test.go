package source_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/source"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// repoWith commits files into a new repository (branch main) and pushes
// them to a bare one; it returns the bare repository's file:// URL and the
// working tree's path.
func repoWith(t *testing.T, files map[string]string) (string, string) {
	t.Helper()
	root := t.TempDir()
	bare, work := filepath.Join(root, "origin.git"), filepath.Join(root, "work")
	opts := &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}, Bare: true}
	git.PlainInitWithOptions(bare, opts)
	opts.Bare = false
	r, err := git.PlainInitWithOptions(work, opts)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(work, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	commitAll(t, work)
	r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{bare}})
	pushAll(t, work)
	return "file://" + bare, work
}

// commitAll commits every change in the working tree at work.
func commitAll(t *testing.T, work string) {
	t.Helper()
	r, err := git.PlainOpen(work)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := r.Worktree()
	wt.AddWithOptions(&git.AddOptions{All: true})
	if _, err := wt.Commit("c", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}}); err != nil {
		t.Fatal(err)
	}
}

// pushAll pushes the working tree's main to its origin.
func pushAll(t *testing.T, work string) {
	t.Helper()
	r, err := git.PlainOpen(work)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(&git.PushOptions{RemoteName: "origin"}); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		t.Fatal(err)
	}
}

func TestRemoteSubfolderAndCache(t *testing.T) {
	url, _ := repoWith(t, map[string]string{"deploy/auth0/triggers.yaml": "post-login: []\n", "README.md": "x"})
	r := &source.Remote{URL: url, Branch: "main", Sub: "deploy/auth0", Dir: t.TempDir()}
	fsys, rev, err := r.Checkout(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if b, err := fs.ReadFile(fsys, "triggers.yaml"); err != nil || string(b) != "post-login: []\n" {
		t.Errorf("triggers.yaml from the subfolder: %q %v", b, err)
	}
	again, rev2, _ := r.Checkout(t.Context())
	if rev2 != rev || again == nil {
		t.Errorf("second checkout: %s, want %s from the cache", rev2, rev)
	}
	head, err := r.Head(t.Context())
	if err != nil || head != rev {
		t.Errorf("Head = %s %v, want %s", head, err, rev)
	}
}

func TestRemoteErrors(t *testing.T) {
	url, _ := repoWith(t, map[string]string{"triggers.yaml": "post-login: []\n"})
	for _, tc := range []struct {
		name string
		r    *source.Remote
		want string
	}{
		{"missing subfolder", &source.Remote{URL: url, Branch: "main", Sub: "nope"}, "--path nope"},
		{"missing branch", &source.Remote{URL: url, Branch: "dev"}, "no branch dev"},
		{"missing remote", &source.Remote{URL: "file:///nonexistent/repo.git", Branch: "main"}, "list file:///nonexistent/repo.git"},
		{"SSH key without known hosts", &source.Remote{URL: url, Auth: source.Auth{SSHKeyFile: "/nonexistent/key"}}, "read SSH key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys, _, err := tc.r.Checkout(t.Context())
			if err == nil || fsys != nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Checkout = %v, %v; want an error with %q and no tree", fsys, err, tc.want)
			}
		})
	}
}

func TestLocalGitReadsCommitsOnly(t *testing.T) {
	_, work := repoWith(t, map[string]string{"triggers.yaml": "post-login: []\n"})
	os.WriteFile(filepath.Join(work, "triggers.yaml"), []byte("uncommitted: []\n"), 0o644)
	fsys, rev, err := source.LocalGit{Path: work}.Checkout(t.Context())
	if err != nil || len(rev) != 40 {
		t.Fatalf("Checkout: %v %q", err, rev)
	}
	if b, _ := fs.ReadFile(fsys, "triggers.yaml"); string(b) != "post-login: []\n" {
		t.Errorf("read %q, want the committed file", b)
	}
}

func TestDirMissing(t *testing.T) {
	if _, _, err := source.Dir(filepath.Join(t.TempDir(), "gone")).Checkout(t.Context()); err == nil {
		t.Error("a missing directory gave no error")
	}
}
