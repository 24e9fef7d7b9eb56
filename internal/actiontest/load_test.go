package actiontest_test

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/actionsync/actionsync/internal/actiontest"
	"github.com/actionsync/actionsync/internal/manifest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// secretValues are the values testEnv gives; no output may show them.
var secretValues = map[string]string{
	"SET":            "hunter2-set",
	"ENRICH_API_KEY": "k-123-enrich",
	"LEAKY_API_KEY":  "sk_live_7d6c5b4a39",
	"LEAKY_OTHER":    "other-secret-55aa",
}

func testEnv(name string) string { return secretValues[name] }

// loadRepo loads the repo at dir and its test cases.
func loadRepo(tb testing.TB, dir string) (*manifest.Repo, *actiontest.Suite) {
	tb.Helper()
	fsys := os.DirFS(dir)
	repo, err := manifest.Load(fsys, manifest.Options{Getenv: testEnv})
	if err != nil {
		tb.Fatalf("load %s: %v", dir, err)
	}
	suite, err := actiontest.Load(fsys, repo)
	if err != nil {
		tb.Fatalf("load the cases of %s: %v", dir, err)
	}
	return repo, suite
}

// TestLoadErrors loads the cases of each tree under testdata/load/ and
// compares every error, with its file and line, to the tree's want.txt.
func TestLoadErrors(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/load/*")
	if len(dirs) < 8 {
		t.Fatalf("found %d broken trees, want the corpus", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			fsys := os.DirFS(dir)
			repo, err := manifest.Load(fsys, manifest.Options{Getenv: testEnv})
			if err != nil {
				t.Fatalf("the repo itself must load: %v", err)
			}
			suite, err := actiontest.Load(fsys, repo)
			var errs manifest.Errors
			if !errors.As(err, &errs) || suite != nil {
				t.Fatalf("got suite %v and error %v, want manifest.Errors", suite, err)
			}
			got := err.Error() + "\n"
			golden(t, filepath.Join(dir, "want.txt"), got)
			if strings.Contains(got, secretValues["SET"]) {
				t.Errorf("an error shows a secret value:\n%s", got)
			}
		})
	}
}

// mapRepo is a one-action repo in memory, with extra files.
func mapRepo(extra map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{
		"actions/a/action.yaml": {Data: []byte("trigger: {id: post-login}\n")},
		"actions/a/index.js":    {Data: []byte("exports.onExecutePostLogin = async () => {};\n")},
		"triggers.yaml":         {Data: []byte("post-login: [a]\n")},
	}
	for p, s := range extra {
		fsys[p] = &fstest.MapFile{Data: []byte(s)}
	}
	return fsys
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		// hide are left out of the tree the manifest is loaded from.
		hide []string
		// links are symbolic links: path to target.
		links map[string]string
		want  string
	}{{
		name:  "tests of a directory that is no action",
		files: map[string]string{"actions/b/tests/x.yaml": "- {name: x, expect: []}\n", "actions/b/action.yaml": "trigger: {id: post-login}\n", "actions/b/index.js": "x"},
		hide:  []string{"actions/b/action.yaml", "actions/b/index.js", "actions/b/tests/x.yaml"},
		want:  "actions/b/tests: tests of no action: actions/b holds no action.yaml the repo loaded",
	}, {
		name:  "a file over the size bound",
		files: map[string]string{"actions/a/tests/big.yaml": "# " + strings.Repeat("x", actiontest.MaxFileSize) + "\n"},
		want:  "actions/a/tests/big.yaml: larger than 1,048,576 bytes: a test file is read up to 1 MiB",
	}, {
		name:  "a test file linked out of the repo",
		links: map[string]string{"actions/a/tests/env.yaml": "/proc/self/environ"},
		want:  "actions/a/tests/env.yaml: a symbolic link out of the repo (-> /proc/self/environ)",
	}, {
		name:  "flow tests without triggers.yaml",
		files: map[string]string{"triggers/post-login.tests.yaml": "- {name: x, expect: []}\n"},
		hide:  []string{"triggers.yaml"},
		want:  "triggers/post-login.tests.yaml: trigger post-login is not managed by triggers.yaml, so it has no flow to test (managed: none)",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := mapRepo(tc.files)
			for p, target := range tc.links {
				fsys[p] = &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink}
			}
			loaded := fstest.MapFS{}
			for p, f := range fsys {
				loaded[p] = f
			}
			for _, p := range tc.hide {
				delete(loaded, p)
			}
			repo, err := manifest.Load(loaded, manifest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = actiontest.Load(fsys, repo)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, tc.want)
			}
		})
	}
}

func TestLoadCases(t *testing.T) {
	_, suite := loadRepo(t, "testdata/run")
	var got []string
	for _, c := range suite.Cases {
		got = append(got, c.Subject()+": "+c.Name)
	}
	if len(got) != 22 || got[0] != "claims: says the user was not seen" || got[len(got)-1] != "flow credentials-exchange: a throw in the flow is its message" {
		t.Errorf("cases in order:\n%s", strings.Join(got, "\n"))
	}
	c := suite.Cases[len(suite.Cases)-1]
	if !c.Flow() || c.File != "triggers/credentials-exchange.tests.yaml" || c.Line != 5 || c.Throws != "is broken" || c.Expect != nil {
		t.Errorf("last case: %+v", c)
	}
	if c.Event["client"].(map[string]any)["metadata"].(map[string]any)["broken"] != true {
		t.Errorf("event: %v", c.Event)
	}
}

// FuzzLoad feeds arbitrary test files to the loader, seeded from the
// testdata corpus: it never panics, and it either loads cases or says what
// is wrong, with a file and line.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*/actions/*/tests/*.yaml")
	more, _ := filepath.Glob("testdata/*/actions/*/tests/*.yaml")
	flows, _ := filepath.Glob("testdata/*/triggers/*.yaml")
	for _, s := range append(append(seeds, more...), flows...) {
		b, _ := os.ReadFile(s)
		f.Add(string(b))
	}
	f.Add("- {name: x, event: {a: [1, {b: null}]}, expect: [{api.access.deny: [x]}], throws: y}\n")
	repo, err := manifest.Load(mapRepo(nil), manifest.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		fsys := mapRepo(map[string]string{"actions/a/tests/x.yaml": text, "triggers/post-login.tests.yaml": text})
		suite, err := actiontest.Load(fsys, repo)
		if (suite == nil) == (err == nil) {
			t.Fatalf("Load gave suite %v and error %v", suite, err)
		}
		var errs manifest.Errors
		if err != nil && (!errors.As(err, &errs) || len(errs) == 0) {
			t.Fatalf("error %v, want manifest.Errors", err)
		}
		for _, e := range errs {
			if !strings.HasPrefix(e.Path, "actions/a/tests/") && !strings.HasPrefix(e.Path, "triggers/") {
				t.Errorf("error at %s", e.Path)
			}
		}
	})
}
