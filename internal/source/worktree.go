package source

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Local is the revision of a directory that is no Git work tree.
const Local = "local"

// dirtySuffix ends the revision of a work tree that differs from HEAD.
const dirtySuffix = "-dirty"

// stateDir is the built-in tenant's state directory, which actionsync
// itself may write inside a work tree; it never makes one dirty.
const stateDir = ".actionsync"

// Worktree is a local directory synced as it is, like Dir, whose revision
// is the Git commit it belongs to: HEAD's hash, with "-dirty" when the
// directory differs from HEAD. The tree synced is still the directory as it
// is, uncommitted changes included.
type Worktree string

// Checkout returns the directory and its revision.
func (w Worktree) Checkout(ctx context.Context) (fs.FS, string, error) {
	fsys, _, err := Dir(w).Checkout(ctx)
	if err != nil {
		return nil, "", err
	}
	rev, err := Revision(string(w))
	return fsys, rev, err
}

// Revision names the commit a local directory is: HEAD's hash when the
// directory is inside a Git work tree, with "-dirty" appended when a file
// below it differs from HEAD, is new (and not ignored) or is gone; "local"
// outside Git and in a repository with no commit yet. File modes, ignored
// files and actionsync's own .actionsync/ do not count.
func Revision(dir string) (string, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return Local, nil
	}
	if err != nil {
		return "", fmt.Errorf("open git repo of %s: %w", dir, err)
	}
	head, err := repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return Local, nil
	}
	if err != nil {
		return "", fmt.Errorf("git repo of %s: HEAD: %w", dir, err)
	}
	root, rel, err := within(repo, dir)
	if err != nil {
		return "", err
	}
	c, err := repo.CommitObject(head.Hash())
	if err != nil {
		return "", fmt.Errorf("git repo of %s: commit %s: %w", dir, head.Hash(), err)
	}
	dirty, err := differs(c, root, rel)
	if err != nil {
		return "", fmt.Errorf("compare %s with %s: %w", dir, head.Hash(), err)
	}
	if dirty {
		return head.Hash().String() + dirtySuffix, nil
	}
	return head.Hash().String(), nil
}

// Branch names the branch checked out in the Git work tree that holds dir:
// "" when HEAD is detached (as CI services often leave it), or when
// dir is outside Git.
func Branch(dir string) (string, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("open git repo of %s: %w", dir, err)
	}
	head, err := repo.Storer.Reference(plumbing.HEAD)
	if err != nil {
		return "", fmt.Errorf("git repo of %s: HEAD: %w", dir, err)
	}
	if head.Type() != plumbing.SymbolicReference {
		return "", nil
	}
	return head.Target().Short(), nil
}

// within returns the root of repo's work tree and dir's path below it,
// slash-separated ("" for the root itself).
func within(repo *git.Repository, dir string) (root, rel string, err error) {
	wt, err := repo.Worktree()
	if err != nil {
		return "", "", fmt.Errorf("git work tree of %s: %w", dir, err)
	}
	root, err = filepath.EvalSymlinks(wt.Filesystem.Root())
	if err == nil {
		dir, err = filepath.Abs(dir)
	}
	if err == nil {
		dir, err = filepath.EvalSymlinks(dir)
	}
	if err == nil {
		rel, err = filepath.Rel(root, dir)
	}
	if err != nil {
		return "", "", fmt.Errorf("place %s in its git work tree: %w", dir, err)
	}
	rel = filepath.ToSlash(rel)
	if rel == "." {
		rel = ""
	}
	return root, rel, nil
}

// errDirty stops the walk at the first difference.
var errDirty = errors.New("dirty")

// differs reports whether the files below rel in the work tree at root
// differ from commit c's.
func differs(c *object.Commit, root, rel string) (bool, error) {
	tracked, err := trackedBelow(c, rel)
	if err != nil {
		return false, err
	}
	ignore := ancestorPatterns(root, rel)
	err = filepath.WalkDir(filepath.Join(root, filepath.FromSlash(rel)), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name, _ := filepath.Rel(root, p)
		if name = filepath.ToSlash(name); name == "." {
			name = ""
		}
		if name != rel && (d.Name() == ".git" || d.IsDir() && d.Name() == stateDir) {
			return skip(d)
		}
		if d.IsDir() {
			ignore = append(ignore, readPatterns(filepath.Join(p, ".gitignore"), segments(name))...)
			if name != rel && gitignore.NewMatcher(ignore).Match(segments(name), true) && !holdsTracked(tracked, name) {
				return fs.SkipDir
			}
			return nil
		}
		want, ok := tracked[name]
		if !ok {
			if gitignore.NewMatcher(ignore).Match(segments(name), false) {
				return nil
			}
			return errDirty
		}
		delete(tracked, name)
		got, err := blobHash(p, d)
		if err != nil {
			return err
		}
		if got != want {
			return errDirty
		}
		return nil
	})
	if errors.Is(err, errDirty) {
		return true, nil
	}
	return len(tracked) > 0, err
}

func skip(d fs.DirEntry) error {
	if d.IsDir() {
		return fs.SkipDir
	}
	return nil
}

// trackedBelow maps each file of c below rel (path from the root) to its
// blob hash; submodules aside.
func trackedBelow(c *object.Commit, rel string) (map[string]plumbing.Hash, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, err
	}
	out := map[string]plumbing.Hash{}
	if rel != "" {
		if tree, err = tree.Tree(rel); errors.Is(err, object.ErrDirectoryNotFound) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
	}
	// The walker reads trees only: a blob's hash is in its tree entry.
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if e.Mode.IsFile() {
			out[strings.TrimPrefix(rel+"/"+name, "/")] = e.Hash
		}
	}
}

func holdsTracked(tracked map[string]plumbing.Hash, dir string) bool {
	for name := range tracked {
		if strings.HasPrefix(name, dir+"/") {
			return true
		}
	}
	return false
}

// blobHash is the hash Git gives the file at p: of its content, or of a
// link's target.
func blobHash(p string, d fs.DirEntry) (plumbing.Hash, error) {
	var b []byte
	var err error
	if d.Type()&fs.ModeSymlink != 0 {
		var target string
		target, err = os.Readlink(p)
		b = []byte(target)
	} else {
		b, err = os.ReadFile(p)
	}
	return plumbing.ComputeHash(plumbing.BlobObject, b), err
}

// ancestorPatterns reads .git/info/exclude and the .gitignore files of
// root and of every directory above rel's (rel's own is read by the walk).
func ancestorPatterns(root, rel string) []gitignore.Pattern {
	ps := readPatterns(filepath.Join(root, ".git", "info", "exclude"), nil)
	dir := ""
	for _, seg := range segments(rel) {
		ps = append(ps, readPatterns(filepath.Join(root, filepath.FromSlash(dir), ".gitignore"), segments(dir))...)
		dir = strings.TrimPrefix(dir+"/"+seg, "/")
	}
	return ps
}

func readPatterns(file string, domain []string) []gitignore.Pattern {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "#") {
			ps = append(ps, gitignore.ParsePattern(line, domain))
		}
	}
	return ps
}

func segments(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
