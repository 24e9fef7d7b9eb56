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

// FuzzLoadModule feeds arbitrary module.yaml and an action's modules: to
// the loader: it never panics, and it either loads a repo or says what is
// wrong.
func FuzzLoadModule(f *testing.F) {
	f.Add("dependencies:\n  - name: lodash\n    version: 4.17.21\n", "[m]")
	f.Add("name: m\nsecrets:\n  - name: K\n    from_env: SET\n", "[m, m]")
	f.Add("modules: [x]\n", "m")
	f.Fuzz(func(t *testing.T, module, uses string) {
		fsys := fstest.MapFS{
			"actions/a/action.yaml": {Data: []byte("trigger: {id: post-login}\nmodules: " + uses + "\n")},
			"actions/a/index.js":    {Data: []byte("x")},
			"modules/m/module.yaml": {Data: []byte(module)},
			"modules/m/index.js":    {Data: []byte("module.exports = 1;")},
		}
		repo, err := manifest.Load(fsys, testOpts())
		if (repo == nil) == (err == nil) {
			t.Fatalf("Load gave repo %v and error %v", repo, err)
		}
	})
}
