package manifest_test

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/actionsync/actionsync/internal/manifest"
)

// FuzzLoad feeds arbitrary action.yaml and triggers.yaml to the loader,
// seeded from the testdata corpus: it never panics, and it either loads a
// repo or says what is wrong.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/actions/a/action.yaml")
	for _, s := range seeds {
		b, _ := os.ReadFile(s)
		trig, _ := os.ReadFile(filepath.Join(filepath.Dir(s), "../../triggers.yaml"))
		f.Add(string(b), string(trig))
	}
	f.Add("trigger: {id: post-login}\n", "post-login: [a]\n")
	f.Fuzz(func(t *testing.T, action, triggers string) {
		fsys := fstest.MapFS{
			"actions/a/action.yaml": {Data: []byte(action)},
			"actions/a/index.js":    {Data: []byte("x")},
			"triggers.yaml":         {Data: []byte(triggers)},
		}
		repo, err := manifest.Load(fsys, testOpts())
		if (repo == nil) == (err == nil) {
			t.Fatalf("Load gave repo %v and error %v", repo, err)
		}
	})
}
