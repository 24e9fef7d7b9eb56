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
// itself: its client secret, its fingerprint key file, the checkout's
// .git/config (where actions/checkout keeps a token), the process's
// environment. The dry run and --once are exit 1 before any request that
// writes, each error at its file and line, and no value reaches the output.
func TestPrivateSecretSources(t *testing.T) {
	lt, env := tenantOverHTTP(t)
	repo := exampleRepo(t)
	if out, err := exec.Command("git", "-C", repo, "init", "-q").CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	gitConfig := filepath.Join(repo, ".git", "config")
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
    from_env: ENRICH_API_KEY
`), 0o644)
	for _, mode := range []string{"--dry-run", "--once"} {
		t.Run(mode, func(t *testing.T) {
			lt.ResetRequests()
			r := run(t, t.TempDir(), env, mode, "--repo", repo, "--secret-key-file", keyFile)
			if r.code != 1 {
				t.Errorf("exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			for _, want := range []string{
				"actions/enrich-profile/action.yaml:4: secrets[0]: secret A: $AUTH0_CLIENT_SECRET is actionsync's own setting",
				"actions/enrich-profile/action.yaml:6: secrets[1]: secret B: from_file " + keyFile + " is in " + keyFile + ", actionsync's own credential",
				"actions/enrich-profile/action.yaml:8: secrets[2]: secret C: from_file " + gitConfig + " is in " + repo + ", actionsync's own credential or the repo's checkout",
				"actions/enrich-profile/action.yaml:10: secrets[3]: secret D: from_file " + link + " is under /proc",
			} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "secret E") {
				t.Errorf("an allowed source refused:\n%s", r.stderr)
			}
			for _, canary := range []string{"csec", "fingerprint-key-canary", "repositoryformatversion", "PATH="} {
				if strings.Contains(r.stdout+r.stderr, canary) {
					t.Errorf("the output holds %q:\n%s\n%s", canary, r.stdout, r.stderr)
				}
			}
			if n := writeCount(lt); n != 0 {
				t.Errorf("%d writes", n)
			}
			if n := len(lt.Requests()); n != 0 {
				t.Errorf("%d requests before the repo was refused: %v", n, lt.Requests())
			}
		})
	}
}
