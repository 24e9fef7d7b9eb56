// Package source yields the commit actionsync syncs: a local directory, or a
// commit of a Git repository read with go-git.
package source

import (
	"context"
	"fmt"
	"io/fs"
	"os"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// Dir is a local directory, synced as it is; its revision is "local".
type Dir string

// Checkout returns the directory as a tree that cannot be left: it is
// opened with os.OpenRoot, so no path, nor any symbolic link, leads out of
// it. The tree also implements fs.ReadLinkFS, for the loader to name a link
// that points out. (The root's descriptor is closed when the tree is no
// longer used.)
func (d Dir) Checkout(context.Context) (fs.FS, string, error) {
	if fi, err := os.Stat(string(d)); err != nil || !fi.IsDir() {
		return nil, "", fmt.Errorf("repo %s: not a directory", d)
	}
	root, err := os.OpenRoot(string(d))
	if err != nil {
		return nil, "", fmt.Errorf("repo %s: %w", d, err)
	}
	return root.FS(), "local", nil
}

// LocalGit is the commit at a branch (HEAD when empty) of a Git repository
// on disk, read from its object store: uncommitted changes are not synced.
type LocalGit struct {
	Path   string
	Branch string
	Sub    string // a subfolder of the repo holding actions/ and triggers.yaml
}

// Checkout reads the branch's commit.
func (g LocalGit) Checkout(ctx context.Context) (fs.FS, string, error) {
	repo, err := git.PlainOpenWithOptions(g.Path, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, "", fmt.Errorf("open git repo %s: %w", g.Path, err)
	}
	var hash plumbing.Hash
	if g.Branch == "" {
		ref, err := repo.Head()
		if err != nil {
			return nil, "", fmt.Errorf("git repo %s: HEAD: %w", g.Path, err)
		}
		hash = ref.Hash()
	} else {
		ref, err := repo.Reference(plumbing.NewBranchReferenceName(g.Branch), true)
		if err != nil {
			return nil, "", fmt.Errorf("git repo %s: branch %s: %w", g.Path, g.Branch, err)
		}
		hash = ref.Hash()
	}
	c, err := repo.CommitObject(hash)
	if err != nil {
		return nil, "", fmt.Errorf("git repo %s: commit %s: %w", g.Path, hash, err)
	}
	fsys, err := TreeFS(c, g.Sub)
	return fsys, hash.String(), err
}
