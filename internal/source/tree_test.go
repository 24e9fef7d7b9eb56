package source_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/actionsync/actionsync/internal/source"
)

// linkRepo commits files and symbolic links (go-git stores a link as
// git does: a blob holding the target) and returns the commit's tree.
func linkRepo(t *testing.T, files, links map[string]string) fs.FS {
	t.Helper()
	_, work := repoWith(t, files)
	for name, target := range links {
		p := filepath.Join(work, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	commitAll(t, work)
	fsys, _, err := source.LocalGit{Path: work}.Checkout(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// TestTreeLinks: in a Git tree a link is resolved inside the tree, or
// refused with ErrLinkOut; its target is never read as a file's content.
func TestTreeLinks(t *testing.T) {
	fsys := linkRepo(t, map[string]string{"shared/code.js": "shared\n", "actions/a/action.yaml": "x"}, map[string]string{
		"actions/a/env.js":    "/proc/self/environ",
		"actions/a/up.js":     "../../../x",
		"actions/a/in.js":     "../../shared/code.js",
		"actions/a/lib":       "../../shared",
		"actions/a/etc":       "/etc",
		"actions/a/loop.js":   "loop2.js",
		"actions/a/loop2.js":  "loop.js",
		"actions/a/dangling":  "nowhere.js",
		"actions/a/climb.js":  "../a/../../shared/code.js",
		"actions/a/escape.js": "lib/../../../x",
	})
	for _, tc := range []struct {
		name, path string
		want       string // content, or "" for an error
		err        error
	}{
		{"absolute", "actions/a/env.js", "", source.ErrLinkOut},
		{"climbing out", "actions/a/up.js", "", source.ErrLinkOut},
		{"through an absolute directory link", "actions/a/etc/passwd", "", source.ErrLinkOut},
		{"through a directory link, then up and out", "actions/a/escape.js", "", source.ErrLinkOut},
		{"a loop", "actions/a/loop.js", "", source.ErrLinkOut},
		{"dangling", "actions/a/dangling", "", fs.ErrNotExist},
		{"inside", "actions/a/in.js", "shared\n", nil},
		{"through a directory link inside", "actions/a/lib/code.js", "shared\n", nil},
		{"up and back down inside", "actions/a/climb.js", "shared\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := fs.ReadFile(fsys, tc.path)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Errorf("read %s = %q, %v; want %v", tc.path, b, err, tc.err)
				}
				return
			}
			if err != nil || string(b) != tc.want {
				t.Errorf("read %s = %q, %v; want %q", tc.path, b, err, tc.want)
			}
		})
	}
	fi, err := fs.Lstat(fsys, "actions/a/up.js")
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat of a link: %v %v, want a link", fi, err)
	}
	if target, err := fs.ReadLink(fsys, "actions/a/up.js"); err != nil || target != "../../../x" {
		t.Errorf("ReadLink = %q %v", target, err)
	}
}

// TestTreeIsAnFS checks the lazy tree against testing/fstest.
func TestTreeIsAnFS(t *testing.T) {
	fsys := linkRepo(t, map[string]string{
		"actions/a/action.yaml": "trigger: {id: post-login}\n", "actions/a/index.js": "x\n", "triggers.yaml": "post-login: [a]\n",
	}, map[string]string{"actions/b": "a"})
	if err := fstest.TestFS(fsys, "actions/a/action.yaml", "actions/a/index.js", "triggers.yaml"); err != nil {
		t.Error(err)
	}
	if b, err := fs.ReadFile(fsys, "actions/b/index.js"); err != nil || string(b) != "x\n" {
		t.Errorf("through a link to a directory: %q %v", b, err)
	}
}

// TestTreeConcurrentReads: the tree is read from many goroutines at once
// (the race detector checks the shared directory cache), and two
// directories with the same content (one tree object, decoded once) are
// each listed and read under their own names.
func TestTreeConcurrentReads(t *testing.T) {
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("actions/a%02d/index.js", i)] = fmt.Sprintf("a%02d\n", i)
		files[fmt.Sprintf("actions/a%02d/action.yaml", i)] = "same\n"
	}
	files["twins/x/f.js"], files["twins/y/f.js"] = "twin\n", "twin\n"
	fsys := linkRepo(t, files, map[string]string{"actions/first": "a00"})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				name := fmt.Sprintf("actions/a%02d/index.js", (i+g)%20)
				if b, err := fs.ReadFile(fsys, name); err != nil || string(b) != fmt.Sprintf("a%02d\n", (i+g)%20) {
					t.Errorf("%s = %q, %v", name, b, err)
				}
			}
		})
	}
	wg.Wait()
	for _, dir := range []string{"twins/x", "twins/y"} {
		ents, err := fs.ReadDir(fsys, dir)
		if err != nil || len(ents) != 1 || ents[0].Name() != "f.js" {
			t.Errorf("ReadDir %s = %v, %v", dir, ents, err)
		}
		if fi, err := fs.Stat(fsys, dir); err != nil || fi.Name() != path.Base(dir) || !fi.IsDir() {
			t.Errorf("Stat %s = %v, %v", dir, fi, err)
		}
		if b, err := fs.ReadFile(fsys, dir+"/f.js"); err != nil || string(b) != "twin\n" {
			t.Errorf("%s/f.js = %q, %v", dir, b, err)
		}
	}
}

// TestRemoteLeavesLargeFiles: a commit that holds a large file nobody
// opens is fetched without it where the server allows partial fetches
// (nothing of it reaches this process), and without holding it otherwise;
// the fetched commit is kept on disk, one at a time.
func TestRemoteLeavesLargeFiles(t *testing.T) {
	const big = 16 << 20
	for _, tc := range []struct {
		name   string
		filter bool
	}{{"partial fetch", true}, {"server without filters", false}} {
		t.Run(tc.name, func(t *testing.T) {
			url, work := repoWith(t, map[string]string{"triggers.yaml": "post-login: []\n"})
			writeRandom(t, filepath.Join(work, "docs", "big.bin"), big)
			gitCLI(t, work, "add", "-A")
			gitCLI(t, work, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "big")
			gitCLI(t, work, "push", "-q", "origin", "main")
			gitCLI(t, strings.TrimPrefix(url, "file://"), "config", "uploadpack.allowFilter", fmt.Sprint(tc.filter))

			dir := t.TempDir()
			r := &source.Remote{URL: url, Branch: "main", Dir: dir}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			fsys, _, err := r.Checkout(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if b, err := fs.ReadFile(fsys, "triggers.yaml"); err != nil || string(b) != "post-login: []\n" {
				t.Fatalf("triggers.yaml = %q %v", b, err)
			}
			runtime.GC()
			runtime.GC() // and go-git's pooled buffers with it
			runtime.ReadMemStats(&after)
			if held := int64(after.HeapAlloc) - int64(before.HeapAlloc); held > big/4 {
				t.Errorf("after the fetch the heap holds %d MiB more", held>>20)
			}
			_, err = fs.ReadFile(fsys, "docs/big.bin")
			if tc.filter {
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > big/4 {
					t.Errorf("the partial fetch allocated %d MiB", alloc>>20)
				}
				if !errors.Is(err, source.ErrNotFetched) {
					t.Errorf("reading the large file: %v, want ErrNotFetched", err)
				}
			} else if err != nil {
				t.Errorf("reading the large file after a full fetch: %v", err)
			}
			checkOneCommitKept(t, r, dir, work)
		})
	}
}

// checkOneCommitKept fetches a second commit: the first one's directory
// goes; Close removes the second's.
func checkOneCommitKept(t *testing.T, r *source.Remote, dir, work string) {
	t.Helper()
	first, _ := filepath.Glob(filepath.Join(dir, "actionsync-git-*"))
	os.WriteFile(filepath.Join(work, "triggers.yaml"), []byte("post-login: [a]\n"), 0o644)
	gitCLI(t, work, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "second")
	gitCLI(t, work, "push", "-q", "origin", "main")
	if _, _, err := r.Checkout(t.Context()); err != nil {
		t.Fatal(err)
	}
	second, _ := filepath.Glob(filepath.Join(dir, "actionsync-git-*"))
	if len(first) != 1 || len(second) != 1 || first[0] == second[0] {
		t.Errorf("kept on disk: %v, then %v; want one commit at a time", first, second)
	}
	r.Close()
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("after Close: %v left", left)
	}
}

func writeRandom(t *testing.T, path string, n int64) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, rand.Reader, n); err != nil { // random: the pack cannot shrink it
		t.Fatal(err)
	}
}

// gitCLI runs git in repo: the commit of a large file is much faster
// through git than through go-git.
func gitCLI(t *testing.T, repo string, args ...string) {
	t.Helper()
	if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v %s", args, err, out)
	}
}
