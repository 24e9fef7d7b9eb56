package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Log calls fn with the commits of the work tree's branch, from HEAD back
// along first parents, n at most (see logTrees). A directory outside Git
// has no history: fn is never called.
func (w Worktree) Log(ctx context.Context, n int, fn func(rev string, tree fs.FS) (bool, error)) error {
	repo, err := git.PlainOpenWithOptions(string(w), &git.PlainOpenOptions{DetectDotGit: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open git repo of %s: %w", w, err)
	}
	head, err := repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("git repo of %s: HEAD: %w", w, err)
	}
	_, rel, err := within(repo, string(w))
	if err != nil {
		return err
	}
	return logTrees(ctx, repo, head.Hash(), rel, n, fn)
}

// Log calls fn with the commits of the remote's branch, newest first, n at
// most (see logTrees), fetched at depth n.
func (r *Remote) Log(ctx context.Context, n int, fn func(rev string, tree fs.FS) (bool, error)) error {
	auth, err := r.Auth.method(r.URL)
	if err != nil {
		return err
	}
	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{
		URL: r.URL, Auth: auth, ReferenceName: plumbing.NewBranchReferenceName(r.branch()),
		SingleBranch: true, Depth: n, NoCheckout: true, Tags: git.NoTags,
	})
	if err != nil {
		return fmt.Errorf("fetch %s %s: %w", r.URL, r.branch(), err)
	}
	head, err := repo.Head()
	if err != nil {
		return fmt.Errorf("fetch %s: %w", r.URL, err)
	}
	return logTrees(ctx, repo, head.Hash(), r.Sub, n, fn)
}

// logTrees walks first parents from commit from, n commits at most, and
// calls fn with each commit's tree below sub, newest first, until fn says
// stop. A commit that leaves the subfolder as the newer one had is passed
// over (it holds the same repo), and so is one without the subfolder; the
// walk ends early where a shallow history does.
func logTrees(ctx context.Context, repo *git.Repository, from plumbing.Hash, sub string, n int, fn func(rev string, tree fs.FS) (bool, error)) error {
	sub = strings.Trim(path.Clean("/"+sub), "/")
	var prev plumbing.Hash
	c, err := repo.CommitObject(from)
	for i := 0; i < n && err == nil; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, ok, terr := subtreeHash(c, sub)
		if terr != nil {
			return terr
		}
		if ok && h != prev {
			tree, err := TreeFS(c, sub)
			if err != nil {
				return err
			}
			if more, err := fn(c.Hash.String(), tree); err != nil || !more {
				return err
			}
		}
		prev = h
		if c.NumParents() == 0 {
			return nil
		}
		c, err = c.Parent(0)
	}
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil // the start of a shallow history
	}
	return err
}

// subtreeHash is the hash of c's tree below sub; ok is false when c has no
// such folder.
func subtreeHash(c *object.Commit, sub string) (plumbing.Hash, bool, error) {
	tree, err := c.Tree()
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("commit %s: tree: %w", c.Hash, err)
	}
	if sub == "" {
		return tree.Hash, true, nil
	}
	st, err := tree.Tree(sub)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return plumbing.ZeroHash, false, nil
	}
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("commit %s: %s: %w", c.Hash, sub, err)
	}
	return st.Hash, true, nil
}
