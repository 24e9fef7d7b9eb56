package source

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ErrLinkOut is the error of a path that passes through a symbolic link
// leading out of the tree: such a link is never followed.
var ErrLinkOut = errors.New("a symbolic link out of the tree")

// maxLinkTarget bounds the target of a symbolic link read from a Git tree,
// as PATH_MAX does on disk; maxHops bounds the links followed in one path,
// as Linux's ELOOP does.
const (
	maxLinkTarget = 4096
	maxHops       = 40
)

// TreeFS is the tree of commit c (below sub, when given) as an fs.FS that
// reads lazily: a file's content is read from the object store only when
// the file is opened, so a large file nobody opens costs nothing. It also
// implements fs.ReadLinkFS: symbolic links are resolved inside the tree,
// and a path through a link that leads out of it fails with ErrLinkOut. A
// missing subfolder is an error, never an empty tree.
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
	if len(tree.Entries) == 0 {
		return nil, errors.New("commit " + c.Hash.String() + ": empty tree")
	}
	return &treeFS{root: tree, mod: c.Committer.When.UTC(), trees: map[plumbing.Hash]*object.Tree{}}, nil
}

// treeFS is a Git tree as an fs.FS, safe for concurrent use. The
// directories it decodes are kept by hash: a loader opens several files in
// each of a thousand directories, and decoding a directory's tree from the
// object store each time cost seconds a plan (loose objects are read and
// inflated anew).
type treeFS struct {
	root *object.Tree
	mod  time.Time

	// mu serialises walks: object.Tree builds its lookup map on first use.
	mu    sync.Mutex
	trees map[plumbing.Hash]*object.Tree
}

// subtree is the directory e of parent, decoded once; t.mu is held.
func (t *treeFS) subtree(parent *object.Tree, e *object.TreeEntry) (*object.Tree, error) {
	if sub, ok := t.trees[e.Hash]; ok {
		return sub, nil
	}
	sub, err := parent.Tree(e.Name)
	if err != nil {
		return nil, err
	}
	t.trees[e.Hash] = sub
	return sub, nil
}

var _ fs.ReadLinkFS = (*treeFS)(nil)
var _ fs.ReadDirFS = (*treeFS)(nil)
var _ fs.StatFS = (*treeFS)(nil)

// node is a resolved path: a tree (a directory) or an entry of its parent.
type node struct {
	name   string
	dir    *object.Tree      // the directory itself, when the node is one
	parent *object.Tree      // the tree that holds entry
	entry  *object.TreeEntry // nil for the root
}

// walker resolves a path one name at a time, keeping the directories it
// went through, so that ".." in a link's target goes back up them.
type walker struct {
	fsys  *treeFS
	dirs  []*object.Tree // dirs[0] is the root
	names []string       // the names of dirs[1:]
	hops  int
}

// resolve finds name; the last element is a link itself unless follow.
func (t *treeFS) resolve(op, name string, follow bool) (*node, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	w := &walker{fsys: t, dirs: []*object.Tree{t.root}}
	n, err := w.walk(split(name), follow)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return n, nil
}

func split(name string) []string {
	if name == "." || name == "" {
		return nil
	}
	return strings.Split(name, "/")
}

func (w *walker) walk(rest []string, follow bool) (*node, error) {
	for len(rest) > 0 {
		elem := rest[0]
		rest = rest[1:]
		switch elem {
		case "", ".":
			continue
		case "..":
			if len(w.dirs) == 1 {
				return nil, ErrLinkOut
			}
			w.dirs, w.names = w.dirs[:len(w.dirs)-1], w.names[:len(w.names)-1]
			continue
		}
		cur := w.dirs[len(w.dirs)-1]
		e, err := cur.FindEntry(elem)
		if err != nil {
			return nil, fs.ErrNotExist
		}
		switch {
		case e.Mode == filemode.Symlink && (len(rest) > 0 || follow):
			target, err := w.fsys.linkTarget(cur, e)
			if err != nil {
				return nil, err
			}
			if w.hops++; w.hops > maxHops || path.IsAbs(target) {
				return nil, ErrLinkOut
			}
			rest = append(strings.Split(target, "/"), rest...)
		case e.Mode == filemode.Dir:
			sub, err := w.fsys.subtree(cur, e)
			if err != nil {
				return nil, err
			}
			w.dirs, w.names = append(w.dirs, sub), append(w.names, elem)
		case len(rest) > 0:
			return nil, fs.ErrNotExist // a file is not a directory
		default:
			return &node{name: elem, parent: cur, entry: e}, nil
		}
	}
	return w.here(), nil
}

// here is the directory the walk ended in.
func (w *walker) here() *node {
	n := &node{name: ".", dir: w.dirs[len(w.dirs)-1]}
	if len(w.names) > 0 {
		n.name = w.names[len(w.names)-1]
	}
	return n
}

// linkTarget reads a link's target, bounded.
func (t *treeFS) linkTarget(parent *object.Tree, e *object.TreeEntry) (string, error) {
	f, err := parent.TreeEntryFile(e)
	if err != nil {
		return "", err
	}
	if f.Size > maxLinkTarget {
		return "", fmt.Errorf("a symbolic link's target of %d bytes", f.Size)
	}
	r, err := f.Reader()
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxLinkTarget))
	return string(b), err
}

// Open opens a file or directory, following links inside the tree.
func (t *treeFS) Open(name string) (fs.File, error) {
	n, err := t.resolve("open", name, true)
	if err != nil {
		return nil, err
	}
	if n.dir != nil {
		return &treeDir{fsys: t, node: n}, nil
	}
	if n.entry.Mode == filemode.Submodule {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("a Git submodule")}
	}
	f, err := n.parent.TreeEntryFile(n.entry)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		err = ErrNotFetched
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &treeFile{info: t.info(n), file: f}, nil
}

// Stat describes a file, following links inside the tree.
func (t *treeFS) Stat(name string) (fs.FileInfo, error) {
	n, err := t.resolve("stat", name, true)
	if err != nil {
		return nil, err
	}
	return t.info(n), nil
}

// Lstat describes a file; a link is described as itself.
func (t *treeFS) Lstat(name string) (fs.FileInfo, error) {
	n, err := t.resolve("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return t.info(n), nil
}

// ReadLink returns a link's target as committed.
func (t *treeFS) ReadLink(name string) (string, error) {
	n, err := t.resolve("readlink", name, false)
	if err != nil {
		return "", err
	}
	if n.entry == nil || n.entry.Mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	target, err := t.linkTarget(n.parent, n.entry)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return target, nil
}

// ReadDir lists a directory, sorted by name.
func (t *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := t.resolve("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if n.dir == nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return t.entries(n.dir), nil
}

func (t *treeFS) entries(dir *object.Tree) []fs.DirEntry {
	out := make([]fs.DirEntry, len(dir.Entries))
	for i := range dir.Entries {
		out[i] = fs.FileInfoToDirEntry(t.info(&node{name: dir.Entries[i].Name, parent: dir, entry: &dir.Entries[i]}))
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// info describes a node without reading any file's content: a file's size
// comes from the object store's header.
func (t *treeFS) info(n *node) *treeInfo {
	fi := &treeInfo{name: n.name, mod: t.mod, mode: fs.ModeDir | 0o755}
	if n.entry == nil || n.entry.Mode == filemode.Dir {
		return fi
	}
	switch n.entry.Mode {
	case filemode.Symlink:
		fi.mode = fs.ModeSymlink | 0o777
	case filemode.Executable:
		fi.mode = 0o755
	case filemode.Submodule:
		fi.mode = fs.ModeIrregular
	default:
		fi.mode = 0o644
	}
	if fi.mode.IsRegular() {
		fi.size, _ = n.parent.Size(n.entry.Name)
	}
	return fi
}

// treeInfo is an fs.FileInfo of a tree entry.
type treeInfo struct {
	name string
	size int64
	mode fs.FileMode
	mod  time.Time
}

func (i *treeInfo) Name() string       { return i.name }
func (i *treeInfo) Size() int64        { return i.size }
func (i *treeInfo) Mode() fs.FileMode  { return i.mode }
func (i *treeInfo) ModTime() time.Time { return i.mod }
func (i *treeInfo) IsDir() bool        { return i.mode.IsDir() }
func (i *treeInfo) Sys() any           { return nil }

// treeFile is an open file: its blob is read from the store as it is read.
type treeFile struct {
	info *treeInfo
	file *object.File
	r    io.ReadCloser
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }

func (f *treeFile) Read(p []byte) (int, error) {
	if f.r == nil {
		r, err := f.file.Reader()
		if err != nil {
			return 0, err
		}
		f.r = r
	}
	return f.r.Read(p)
}

func (f *treeFile) Close() error {
	if f.r != nil {
		return f.r.Close()
	}
	return nil
}

// treeDir is an open directory.
type treeDir struct {
	fsys *treeFS
	node *node
	list []fs.DirEntry
	read bool
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.fsys.info(d.node), nil }
func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.node.name, Err: errors.New("is a directory")}
}
func (d *treeDir) Close() error { return nil }

// ReadDir returns the next n entries, as fs.ReadDirFile requires.
func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		d.list, d.read = d.fsys.entries(d.node.dir), true
	}
	if n <= 0 {
		out := d.list
		d.list = nil
		return out, nil
	}
	if len(d.list) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(d.list))
	out := d.list[:k]
	d.list = d.list[k:]
	return out, nil
}
