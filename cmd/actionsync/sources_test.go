package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrivateSecretSources: a repo, as a stranger's pull request may make
// it, whose secrets name what the machine running actionsync holds for
// itself: its client secret, another environment's tenant secret, its
// fingerprint key file, the .git/config of the work tree that holds the
// repo (where actions/checkout keeps a token), the process's environment.
// The dry run, --once, test and status are exit 1 before any request, each
// error at its file and line, and no value reaches the output.
func TestPrivateSecretSources(t *testing.T) {
	lt, env := tenantOverHTTP(t)
	// The repo is a subfolder of a Git work tree, as in a monorepo.
	work := t.TempDir()
	if out, err := exec.Command("git", "-C", work, "init", "-q").CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	repo := filepath.Join(work, "auth0")
	if err := os.CopyFS(repo, os.DirFS("../../examples/repo")); err != nil {
		t.Fatal(err)
	}
	gitConfig := filepath.Join(work, ".git", "config")
	workToken := filepath.Join(work, "ci-token") // in the work tree, outside the repo's subfolder
	os.WriteFile(workToken, []byte("work-token-canary\n"), 0o600)
	keyFile := filepath.Join(t.TempDir(), "fingerprint-key")
	os.WriteFile(keyFile, []byte("fingerprint-key-canary-0123456789\n"), 0o600)
	link := filepath.Join(t.TempDir(), "innocent")
	os.Symlink("/proc/self/environ", link)
	yaml := filepath.Join(repo, "actions", "enrich-profile", "action.yaml")
	os.WriteFile(yaml, []byte(`trigger:
  id: post-login
secrets:
  - name: A
    from_env: AUTH0_CLIENT_SECRET
  - name: B
    from_file: `+keyFile+`
  - name: C
    from_file: `+gitConfig+`
  - name: D
    from_file: `+link+`
  - name: E
    from_env: PROD_AUTH0_CLIENT_SECRET
  - name: F
    from_env: ENRICH_API_KEY
  - name: G
    from_file: `+workToken+`
`), 0o644)
	env = append(env, "PROD_AUTH0_CLIENT_SECRET=prod-secret-canary")
	for _, args := range [][]string{
		{"--dry-run", "--repo", repo, "--secret-key-file", keyFile},
		{"--once", "--repo", repo, "--secret-key-file", keyFile},
		{"test", "--repo", repo, "--secret-key-file", keyFile},
		{"status", "--repo", repo},
	} {
		t.Run(args[0], func(t *testing.T) {
			lt.ResetRequests()
			r := run(t, t.TempDir(), env, args...)
			if r.code != 1 {
				t.Errorf("exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			want := []string{
				"actions/enrich-profile/action.yaml:4: secrets[0]: secret A: $AUTH0_CLIENT_SECRET is actionsync's own setting",
				"actions/enrich-profile/action.yaml:8: secrets[2]: secret C: from_file " + gitConfig + " is in a Git directory (.git)",
				"actions/enrich-profile/action.yaml:16: secrets[6]: secret G: from_file " + workToken + " is in " + work + ", actionsync's own credential or the repo's checkout",
				"actions/enrich-profile/action.yaml:10: secrets[3]: secret D: from_file " + link + " is under /proc",
				"actions/enrich-profile/action.yaml:12: secrets[4]: secret E: $PROD_AUTH0_CLIENT_SECRET is actionsync's own setting",
			}
			if args[0] != "status" { // status takes no --secret-key-file
				want = append(want, "actions/enrich-profile/action.yaml:6: secrets[1]: secret B: from_file "+keyFile+" is in "+keyFile+", actionsync's own credential")
			}
			for _, w := range want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "secret F") {
				t.Errorf("an allowed source refused:\n%s", r.stderr)
			}
			for _, canary := range []string{"csec", "prod-secret-canary", "fingerprint-key-canary", "work-token-canary", "repositoryformatversion", "PATH="} {
				if strings.Contains(r.stdout+r.stderr, canary) {
					t.Errorf("the output holds %q:\n%s\n%s", canary, r.stdout, r.stderr)
				}
			}
			if n := len(lt.Requests()); n != 0 {
				t.Errorf("%d requests before the repo was refused: %v", n, lt.Requests())
			}
		})
	}
}
