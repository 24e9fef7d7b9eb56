package source_test

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/source"
	"github.com/actionsync/actionsync/internal/source/gittest"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
)

func TestRevision(t *testing.T) {
	base := map[string]string{
		"deploy/actions/a/action.yaml": "trigger:\n  id: post-login\n",
		"deploy/actions/a/index.js":    "exports.x = 1;\n",
		"deploy/.gitignore":            "*.log\n",
		".gitignore":                   "/build/\n",
		"README.md":                    "readme\n",
	}
	for _, tc := range []struct {
		name  string
		sub   string // the directory synced, below the work tree's root
		edit  func(w *gittest.Repo)
		dirty bool
	}{
		{"clean", "deploy", func(*gittest.Repo) {}, false},
		{"a changed file", "deploy", func(w *gittest.Repo) { w.Write(map[string]string{"deploy/actions/a/index.js": "exports.x = 2;\n"}) }, true},
		{"a new file", "deploy", func(w *gittest.Repo) { w.Write(map[string]string{"deploy/actions/b/index.js": "x"}) }, true},
		{"a removed file", "deploy", func(w *gittest.Repo) { w.Remove("deploy/actions/a/index.js") }, true},
		{"an ignored file", "deploy", func(w *gittest.Repo) { w.Write(map[string]string{"deploy/actions/a/debug.log": "x"}) }, false},
		{"actionsync's own state", "deploy", func(w *gittest.Repo) { w.Write(map[string]string{"deploy/.actionsync/local-tenant.json": "{}"}) }, false},
		{"a change outside the synced directory", "deploy", func(w *gittest.Repo) { w.Write(map[string]string{"README.md": "changed\n"}) }, false},
		{"the root, with a change", "", func(w *gittest.Repo) { w.Write(map[string]string{"README.md": "changed\n"}) }, true},
		{"the root, with an ignored directory", "", func(w *gittest.Repo) { w.Write(map[string]string{"build/out.js": "x"}) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := gittest.New(t)
			head := w.Commit(base)
			tc.edit(w)
			dir := filepath.Join(w.Dir, tc.sub)
			fsys, rev, err := source.Worktree(dir).Checkout(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			want := head
			if tc.dirty {
				want += "-dirty"
			}
			if rev != want {
				t.Errorf("revision = %s, want %s", rev, want)
			}
			if _, err := fs.Stat(fsys, "actions/a/action.yaml"); tc.sub == "deploy" && err != nil {
				t.Errorf("the tree synced is not the directory: %v", err)
			}
		})
	}
}

// TestRevisionSyncsTheWorkTree: a dirty tree is synced as it is, not as
// committed.
func TestRevisionSyncsTheWorkTree(t *testing.T) {
	w := gittest.New(t)
	w.Commit(map[string]string{"triggers.yaml": "post-login: []\n"})
	w.Write(map[string]string{"triggers.yaml": "uncommitted: []\n"})
	fsys, rev, err := source.Worktree(w.Dir).Checkout(t.Context())
	if err != nil || !strings.HasSuffix(rev, "-dirty") {
		t.Fatalf("Checkout: %v, %q", err, rev)
	}
	if b, _ := fs.ReadFile(fsys, "triggers.yaml"); string(b) != "uncommitted: []\n" {
		t.Errorf("read %q, want the work tree's file", b)
	}
}

func TestRevisionOutsideGit(t *testing.T) {
	noCommit := gittest.New(t)
	for name, dir := range map[string]string{"no repository": t.TempDir(), "no commit yet": noCommit.Dir} {
		_, rev, err := source.Worktree(dir).Checkout(t.Context())
		if err != nil || rev != source.Local {
			t.Errorf("%s: revision %q, %v; want %q", name, rev, err, source.Local)
		}
	}
}

// history collects what Log passes: each commit and its triggers.yaml.
func history(t *testing.T, log func(fn func(string, fs.FS) (bool, error)) error) []string {
	t.Helper()
	var out []string
	err := log(func(rev string, tree fs.FS) (bool, error) {
		b, _ := fs.ReadFile(tree, "triggers.yaml")
		out = append(out, rev[:7]+" "+strings.TrimSpace(string(b)))
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLog: newest first, first parents, commits that leave the subfolder
// as it was passed over, n at most; a remote is fetched deep enough.
func TestLog(t *testing.T) {
	w := gittest.New(t)
	var revs []string
	for _, files := range []map[string]string{
		{"sub/triggers.yaml": "one: []"},
		{"README.md": "elsewhere"},
		{"sub/triggers.yaml": "two: []"},
		{"sub/triggers.yaml": "three: []"},
	} {
		revs = append(revs, w.Commit(files)[:7])
	}
	want := []string{revs[3] + " three: []", revs[2] + " two: []", revs[1] + " one: []"}
	got := history(t, func(fn func(string, fs.FS) (bool, error)) error {
		return source.Worktree(filepath.Join(w.Dir, "sub")).Log(t.Context(), 10, fn)
	})
	if !slices.Equal(got, want) {
		t.Errorf("work tree log = %q, want %q", got, want)
	}
	got = history(t, func(fn func(string, fs.FS) (bool, error)) error {
		return source.Worktree(filepath.Join(w.Dir, "sub")).Log(t.Context(), 2, fn)
	})
	if !slices.Equal(got, want[:2]) {
		t.Errorf("log of 2 = %q, want %q", got, want[:2])
	}

	bare := filepath.Join(t.TempDir(), "origin.git")
	if _, err := git.PlainInit(bare, true); err != nil {
		t.Fatal(err)
	}
	w.Repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{bare}})
	if err := w.Repo.Push(&git.PushOptions{RemoteName: "origin"}); err != nil {
		t.Fatal(err)
	}
	r := &source.Remote{URL: "file://" + bare, Branch: "main", Sub: "sub"}
	got = history(t, func(fn func(string, fs.FS) (bool, error)) error { return r.Log(t.Context(), 2, fn) })
	if !slices.Equal(got, want[:2]) {
		t.Errorf("remote log of 2 = %q, want %q", got, want[:2])
	}
}

// BenchmarkRevision: the revision of a clean work tree of 200 actions,
// which a local path's every reconcile computes (hashing each file).
func BenchmarkRevision(b *testing.B) {
	w := gittest.New(b)
	files := map[string]string{"triggers.yaml": "post-login: []\n"}
	for i := range 200 {
		files[fmt.Sprintf("actions/a%03d/action.yaml", i)] = "trigger:\n  id: post-login\n"
		files[fmt.Sprintf("actions/a%03d/index.js", i)] = strings.Repeat("// a line of code\n", 100)
	}
	head := w.Commit(files)
	for b.Loop() {
		if rev, err := source.Revision(w.Dir); err != nil || rev != head {
			b.Fatalf("%s, %v", rev, err)
		}
	}
}
