package manifest_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/tenant"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testOpts() manifest.Options {
	return manifest.Options{
		Getenv: func(k string) string {
			return map[string]string{"SET": "hunter2-set", "ENRICH_API_KEY": "k-123", "LONG": strings.Repeat("hunter2", 600)}[k]
		},
		// The machine's files are testdata's.
		ReadFile: func(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) },
	}
}

// TestBrokenRepos loads each tree under testdata/ and compares every error,
// with its file and line, to the tree's want.txt.
func TestBrokenRepos(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/*")
	if len(dirs) < 10 {
		t.Fatalf("found %d broken repos, want the corpus", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			_, err := manifest.Load(os.DirFS(dir), testOpts())
			if err == nil {
				t.Fatal("loaded without error")
			}
			got := err.Error() + "\n"
			golden := filepath.Join(dir, "want.txt")
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, _ := os.ReadFile(golden)
			if got != string(want) {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
			if strings.Contains(got, "hunter2") || strings.Contains(got, "k-123") {
				t.Errorf("an error shows a secret value: %s", got)
			}
		})
	}
}

func TestEmpty(t *testing.T) {
	_, err := manifest.Load(os.DirFS(t.TempDir()), testOpts())
	if !errors.Is(err, manifest.ErrEmpty) {
		t.Errorf("empty tree: %v, want ErrEmpty", err)
	}
}

func TestExampleRepo(t *testing.T) {
	repo, err := manifest.Load(os.DirFS("../../examples/repo"), testOpts())
	if err != nil {
		t.Fatal(err)
	}
	if len(repo.Actions) < 3 || len(repo.Triggers) < 2 {
		t.Fatalf("example repo: %d actions, %d triggers", len(repo.Actions), len(repo.Triggers))
	}
	catalogue := []tenant.Trigger{
		{ID: "post-login", Version: "v3", Current: true, Runtimes: []string{"node18", "node22"}},
		{ID: "credentials-exchange", Version: "v2", Current: true, Runtimes: []string{"node18", "node22"}},
	}
	if err := repo.Validate(catalogue, nil); err != nil {
		t.Fatal(err)
	}
	for _, a := range repo.Actions {
		if a.Trigger.Version == "" || a.Code == "" {
			t.Errorf("%s: trigger %v, %d bytes of code", a.Name, a.Trigger, len(a.Code))
		}
	}
	m := repo.Module("claims")
	if m == nil || m.CodePath != "modules/claims/index.js" || !strings.Contains(m.Code, "exports.claim") {
		t.Fatalf("module claims: %+v", m)
	}
	if users := repo.Users("claims"); !slices.Equal(users, []string{"add-token-claims", "enrich-profile"}) {
		t.Errorf("users of claims = %v", users)
	}
}

func TestValidate(t *testing.T) {
	repo, err := manifest.Load(os.DirFS("../../examples/repo"), testOpts())
	if err != nil {
		t.Fatal(err)
	}
	catalogue := []tenant.Trigger{{ID: "post-login", Version: "v3", Current: true, Runtimes: []string{"node18"}}}
	err = repo.Validate(catalogue, map[string]string{})
	var errs manifest.Errors
	if !errors.As(err, &errs) || len(errs) < 2 {
		t.Fatalf("Validate against a poor catalogue: %v", err)
	}
	for _, want := range []string{"is not offered by the tenant", "runtime node22 is not offered"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}

// TestModuleLinks: a module's files are never read through a symbolic
// link, whether the link is its directory, its module.yaml or its code.
func TestModuleLinks(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.js"), []byte("module.exports = 'outside';\n"), 0o644)
	os.WriteFile(filepath.Join(outside, "module.yaml"), []byte("{}\n"), 0o644)
	for _, tc := range []struct {
		name, link, target, want string
	}{
		{"the directory", "modules/linked", outside, "modules/linked: not a directory"},
		{"module.yaml", "modules/m/module.yaml", filepath.Join(outside, "module.yaml"), "modules/m/module.yaml: a symbolic link out of the repo (-> " + filepath.Join(outside, "module.yaml") + ")"},
		{"the code", "modules/m/index.js", filepath.Join(outside, "secret.js"), "modules/m/index.js: a symbolic link out of the repo (-> " + filepath.Join(outside, "secret.js") + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{
				"actions/a/action.yaml": "trigger:\n  id: post-login\nmodules: [m]\n", "actions/a/index.js": "x\n",
				"modules/m/module.yaml": "{}\n", "modules/m/index.js": "module.exports = 1;\n",
			}
			for name, content := range files {
				os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
				os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
			}
			os.Remove(filepath.Join(dir, tc.link))
			if err := os.Symlink(tc.target, filepath.Join(dir, tc.link)); err != nil {
				t.Fatal(err)
			}
			_, err := manifest.Load(os.DirFS(dir), testOpts())
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "'outside'") {
				t.Errorf("error = %v, want %q and nothing of the file outside", err, tc.want)
			}
		})
	}
}
