// Package gittest makes real Git work trees for tests, committed with
// go-git.
package gittest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Repo is a Git work tree on branch main.
type Repo struct {
	tb   testing.TB
	Dir  string
	Repo *git.Repository
}

// New makes an empty work tree in a temporary directory.
func New(tb testing.TB) *Repo {
	tb.Helper()
	dir := tb.TempDir()
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		tb.Fatal(err)
	}
	return &Repo{tb: tb, Dir: dir, Repo: r}
}

// Write writes files (path → content) into the work tree.
func (r *Repo) Write(files map[string]string) {
	r.tb.Helper()
	for name, content := range files {
		p := filepath.Join(r.Dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.tb.Fatal(err)
		}
	}
}

// Remove removes a file or directory from the work tree.
func (r *Repo) Remove(path string) {
	r.tb.Helper()
	if err := os.RemoveAll(filepath.Join(r.Dir, path)); err != nil {
		r.tb.Fatal(err)
	}
}

// Commit writes files, commits everything (removals too) and returns the
// commit's hash.
func (r *Repo) Commit(files map[string]string) string {
	r.tb.Helper()
	r.Write(files)
	wt, err := r.Repo.Worktree()
	if err != nil {
		r.tb.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		r.tb.Fatal(err)
	}
	h, err := wt.Commit("commit", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}, AllowEmptyCommits: true})
	if err != nil {
		r.tb.Fatal(err)
	}
	return h.String()
}
