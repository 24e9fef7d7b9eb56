package source_test

import (
	"testing"

	"github.com/actionsync/actionsync/internal/source"
	"github.com/actionsync/actionsync/internal/source/gittest"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// TestBranches: one listing names every branch of the remote with its
// commit, and Head is the followed branch's.
func TestBranches(t *testing.T) {
	url, work := repoWith(t, map[string]string{"triggers.yaml": "{}\n"})
	r, err := git.PlainOpen(work)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := r.Head()
	if err := r.Push(&git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{"refs/heads/main:refs/heads/release", "refs/heads/main:refs/tags/v1"}}); err != nil {
		t.Fatal(err)
	}
	got, err := (&source.Remote{URL: url}).Branches(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := head.Hash().String()
	if len(got) != 2 || got["main"] != want || got["release"] != want {
		t.Errorf("Branches = %v, want main and release at %s (no tag)", got, want)
	}
	if h, err := (&source.Remote{URL: url, Branch: "release"}).Head(t.Context()); err != nil || h != want {
		t.Errorf("Head of release = %q, %v", h, err)
	}
	if _, err := (&source.Remote{URL: url, Branch: "gone"}).Head(t.Context()); err == nil {
		t.Error("Head of a branch the remote lacks: no error")
	}
}

// TestBranch: the branch a work tree has checked out; "" when HEAD is
// detached or outside Git.
func TestBranch(t *testing.T) {
	g := gittest.New(t)
	first := g.Commit(map[string]string{"a": "1"})
	if got, err := source.Branch(g.Dir); err != nil || got != "main" {
		t.Errorf("on main: %q, %v", got, err)
	}
	wt, _ := g.Repo.Worktree()
	if err := wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName("release"), Create: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := source.Branch(g.Dir); got != "release" {
		t.Errorf("on release: %q", got)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: plumbing.NewHash(first)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := source.Branch(g.Dir); got != "" {
		t.Errorf("detached: %q, want \"\"", got)
	}
	if got, err := source.Branch(t.TempDir()); err != nil || got != "" {
		t.Errorf("outside Git: %q, %v", got, err)
	}
}
