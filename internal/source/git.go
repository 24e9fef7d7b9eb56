// Package source yields the commit actionsync syncs: a local directory, or a
// commit of a Git repository read with go-git.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing/fstest"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Dir is a local directory, synced as it is; its revision is "local".
type Dir string

// Checkout returns the directory.
func (d Dir) Checkout(context.Context) (fs.FS, string, error) {
	if fi, err := os.Stat(string(d)); err != nil || !fi.IsDir() {
		return nil, "", fmt.Errorf("repo %s: not a directory", d)
	}
	return os.DirFS(string(d)), "local", nil
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

// TreeFS reads the tree of commit c (below sub, when given) into memory.
// A missing subfolder is an error, never an empty tree.
func TreeFS(c *object.Commit, sub string) (fs.FS, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("commit %s: tree: %w", c.Hash, err)
	}
	sub = strings.Trim(path.Clean("/"+sub), "/")
	if sub != "" {
		if tree, err = tree.Tree(sub); err != nil {
			return nil, fmt.Errorf("commit %s: --path %s: %w", c.Hash, sub, err)
		}
	}
	out := fstest.MapFS{}
	err = tree.Files().ForEach(func(f *object.File) error {
		if !f.Mode.IsFile() {
			return nil
		}
		r, err := f.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		out[f.Name] = &fstest.MapFile{Data: b, Mode: 0o644, ModTime: c.Committer.When.In(time.UTC)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("commit %s: read tree: %w", c.Hash, err)
	}
	if len(out) == 0 {
		return nil, errors.New("commit " + c.Hash.String() + ": empty tree")
	}
	return out, nil
}
