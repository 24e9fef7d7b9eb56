package manifest_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/source"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

const actionYAML = "trigger:\n  id: post-login\n"

// tree writes files and symbolic links (path → target) under a new
// directory and returns it.
func tree(t *testing.T, files, links map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range links {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// committed commits the tree at dir as git would, a link as a blob
// holding its target as written, and returns the commit read back through
// source.LocalGit.
func committed(t *testing.T, dir string) fs.FS {
	t.Helper()
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		t.Fatal(err)
	}
	root := writeTree(t, r.Storer, dir)
	c := &object.Commit{Author: object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}, Message: "c", TreeHash: root}
	c.Committer = c.Author
	h := store(t, r.Storer, c)
	if err := r.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("main"), h)); err != nil {
		t.Fatal(err)
	}
	fsys, _, err := source.LocalGit{Path: dir}.Checkout(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

type encoder interface {
	Encode(plumbing.EncodedObject) error
}

func store(t *testing.T, st storer.EncodedObjectStorer, o encoder) plumbing.Hash {
	t.Helper()
	obj := st.NewEncodedObject()
	if err := o.Encode(obj); err != nil {
		t.Fatal(err)
	}
	h, err := st.SetEncodedObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func writeBlob(t *testing.T, st storer.EncodedObjectStorer, content []byte) plumbing.Hash {
	t.Helper()
	obj := st.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	w, _ := obj.Writer()
	w.Write(content)
	w.Close()
	h, err := st.SetEncodedObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// writeTree stores the tree of dir (but .git), entries in git's order.
func writeTree(t *testing.T, st storer.EncodedObjectStorer, dir string) plumbing.Hash {
	t.Helper()
	des, _ := os.ReadDir(dir)
	tree := &object.Tree{}
	for _, de := range des {
		p := filepath.Join(dir, de.Name())
		e := object.TreeEntry{Name: de.Name(), Mode: filemode.Regular}
		switch {
		case de.Name() == ".git":
			continue
		case de.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			e.Mode, e.Hash = filemode.Symlink, writeBlob(t, st, []byte(target))
		case de.IsDir():
			e.Mode, e.Hash = filemode.Dir, writeTree(t, st, p)
		default:
			b, _ := os.ReadFile(p)
			e.Hash = writeBlob(t, st, b)
		}
		tree.Entries = append(tree.Entries, e)
	}
	sortName := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	slices.SortFunc(tree.Entries, func(a, b object.TreeEntry) int { return strings.Compare(sortName(a), sortName(b)) })
	return store(t, st, tree)
}

func fromDir(t *testing.T, dir string) fs.FS {
	t.Helper()
	fsys, _, err := source.Dir(dir).Checkout(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// TestLinksOutOfTheRepo: a symbolic link that leads out of the repo, on
// disk or in a Git commit, is an error naming the link and its target,
// and what it points at never reaches the loaded repo or the error.
func TestLinksOutOfTheRepo(t *testing.T) {
	t.Setenv("ACTIONSYNC_CANARY", "canary-from-the-environment") // in /proc/self/environ
	base := map[string]string{"actions/a/action.yaml": actionYAML}
	for _, tc := range []struct {
		name  string
		files map[string]string
		links map[string]string
		want  string
	}{
		{"code to the environment", nil, map[string]string{"actions/a/index.js": "/proc/self/environ"},
			"actions/a/index.js: a symbolic link out of the repo (-> /proc/self/environ)"},
		{"code to /etc/passwd", nil, map[string]string{"actions/a/index.js": "/etc/passwd"},
			"actions/a/index.js: a symbolic link out of the repo (-> /etc/passwd)"},
		{"code climbing out", nil, map[string]string{"actions/a/index.js": "../../../x"},
			"actions/a/index.js: a symbolic link out of the repo (-> ../../../x)"},
		{"a directory of the code path", map[string]string{"actions/a/action.yaml": actionYAML + "code: lib/index.js\n"},
			map[string]string{"actions/a/lib": "/etc"},
			"actions/a/lib/index.js: actions/a/lib is a symbolic link out of the repo (-> /etc)"},
		{"a link in the repo to a link out", map[string]string{"x": ""},
			map[string]string{"actions/a/index.js": "../../y", "y": "/etc/passwd"},
			"actions/a/index.js: y is a symbolic link out of the repo (-> /etc/passwd)"},
		{"action.yaml", map[string]string{"actions/a/action.yaml": ""},
			map[string]string{"actions/b/action.yaml": "/etc/passwd", "actions/b/index.js": "../a/index.js", "actions/a/index.js": "../../code.js"},
			"actions/b/action.yaml: a symbolic link out of the repo (-> /etc/passwd)"},
		{"triggers.yaml", map[string]string{"actions/a/index.js": "x"}, map[string]string{"triggers.yaml": "/etc/passwd"},
			"triggers.yaml: a symbolic link out of the repo (-> /etc/passwd)"},
		{"an action directory", map[string]string{"actions/a/index.js": "x"}, map[string]string{"actions/b": "/etc"},
			"actions/b: a symbolic link out of the repo (-> /etc)"},
		{"an action directory inside", map[string]string{"actions/a/index.js": "x"}, map[string]string{"actions/b": "a"},
			"actions/b: a symbolic link (-> a): an action's directory must be a directory of its own"},
		{"a link loop", nil, map[string]string{"actions/a/index.js": "loop", "actions/a/loop": "index.js"},
			"too many levels of symbolic links"},
	} {
		files := map[string]string{}
		for k, v := range base {
			files[k] = v
		}
		for k, v := range tc.files {
			files[k] = v
		}
		if tc.name == "action.yaml" {
			files["code.js"] = "x"
		}
		for _, src := range []struct {
			name string
			open func(*testing.T, string) fs.FS
		}{{"dir", fromDir}, {"git", committed}} {
			t.Run(tc.name+"/"+src.name, func(t *testing.T) {
				repo, err := manifest.Load(src.open(t, tree(t, files, tc.links)), testOpts())
				if err == nil {
					t.Fatalf("loaded %d actions; want %q", len(repo.Actions), tc.want)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error:\n%v\nwant %q", err, tc.want)
				}
				for _, leak := range []string{"canary-from-the-environment", "root:"} {
					if strings.Contains(err.Error(), leak) {
						t.Errorf("the error shows what the link points at: %v", err)
					}
				}
			})
		}
	}
}

// TestLinksInsideTheRepo: a link that stays inside the repo is followed,
// on disk and in a Git commit.
func TestLinksInsideTheRepo(t *testing.T) {
	files := map[string]string{
		"actions/a/action.yaml": actionYAML + "code: lib/index.js\n",
		"shared/lib/index.js":   "exports.onExecutePostLogin = async () => {}; // shared\n",
		"triggers.yaml":         "post-login:\n  - a\n",
	}
	links := map[string]string{"actions/a/lib": "../../shared/lib"}
	for _, src := range []struct {
		name string
		open func(*testing.T, string) fs.FS
	}{{"dir", fromDir}, {"git", committed}} {
		t.Run(src.name, func(t *testing.T) {
			repo, err := manifest.Load(src.open(t, tree(t, files, links)), testOpts())
			if err != nil {
				t.Fatal(err)
			}
			if got := repo.Actions[0].Code; got != files["shared/lib/index.js"] {
				t.Errorf("code = %q, want the linked file", got)
			}
		})
	}
}

// TestLinkOutOfASubfolder: with --path, the repo is the subfolder: a link
// that climbs out of it is out of the repo, though it stays in the commit.
func TestLinkOutOfASubfolder(t *testing.T) {
	dir := tree(t, map[string]string{"deploy/actions/a/action.yaml": actionYAML, "x": "outside the subfolder"},
		map[string]string{"deploy/actions/a/index.js": "../../../x"})
	committed(t, dir)
	for _, src := range []struct {
		name string
		open func() (fs.FS, string, error)
	}{
		{"dir", func() (fs.FS, string, error) { return source.Dir(filepath.Join(dir, "deploy")).Checkout(t.Context()) }},
		{"git", func() (fs.FS, string, error) {
			return source.LocalGit{Path: dir, Sub: "deploy"}.Checkout(t.Context())
		}},
	} {
		t.Run(src.name, func(t *testing.T) {
			fsys, _, err := src.open()
			if err != nil {
				t.Fatal(err)
			}
			_, err = manifest.Load(fsys, testOpts())
			want := "actions/a/index.js: a symbolic link out of the repo (-> ../../../x)"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want %q", err, want)
			}
		})
	}
}

// TestLinksIntoPrivateDirs: a link to a file of .git/ (whose config holds
// the token actions/checkout saves) or of .actionsync/ (the built-in
// tenant's state, secret values included) stays inside the work tree but
// is refused all the same, naming the file, and nothing of it is shown.
func TestLinksIntoPrivateDirs(t *testing.T) {
	for _, tc := range []struct{ name, target, private string }{
		{"git config", "../../.git/config", ".git/config"},
		{"a submodule's git dir", "../../lib/.git/config", "lib/.git/config"},
		{"the built-in tenant's state", "../../.actionsync/local-tenant.json", ".actionsync/local-tenant.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{
				"actions/a/action.yaml": actionYAML,
				tc.private:              "extraheader = AUTHORIZATION: basic canary-token\n",
			}
			_, err := manifest.Load(fromDir(t, tree(t, files, map[string]string{"actions/a/index.js": tc.target})), testOpts())
			want := "code file actions/a/index.js: leads to " + tc.private + ": the files of .git/ and .actionsync/ are not the repo's content, and are never read"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error:\n%v\nwant %q", err, want)
			}
			if strings.Contains(err.Error(), "canary-token") {
				t.Errorf("the error shows the file: %v", err)
			}
		})
	}
}
