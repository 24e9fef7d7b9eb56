package manifest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// A repo may come from a stranger's pull request, and the values of its
// secrets come from the machine that syncs it: from_env and from_file may
// not name what that machine holds for actionsync itself or for its CI job.

// ErrPrivateSource is wrapped by the error of a secret whose source is one
// a repo may not read.
var ErrPrivateSource = errors.New("a source a repo may not read")

// privateEnvPart is in the name of every variable of a tenant's
// credentials actionsync reads (AUTH0_CLIENT_SECRET, and the environments'
// PROD_AUTH0_CLIENT_SECRET and the like): no from_env may hold it.
const privateEnvPart = "AUTH0_"

// privateEnv are the prefixes of the other variables a from_env may not
// name: actionsync's settings, and the job tokens of GitHub Actions and
// GitLab CI.
var privateEnv = []string{"ACTIONSYNC_", "GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_", "CI_JOB_", "CI_REGISTRY_", "CI_DEPLOY_"}

// privateDirs hold the machine's processes (their environments among
// them), devices, kernel state, and the Kubernetes service account that
// --leader-elect writes its Lease with; a from_file may not read under
// them.
var privateDirs = []string{"/proc", "/sys", "/dev", "/var/run/secrets/kubernetes.io", "/run/secrets/kubernetes.io"}

// checkEnvSource refuses a from_env that names a variable of privateEnv,
// or one that actionsync.yaml names as an environment's tenant credential.
func (l *loader) checkEnvSource(name string) error {
	if strings.Contains(name, privateEnvPart) || slices.ContainsFunc(privateEnv, func(p string) bool { return strings.HasPrefix(name, p) }) {
		return privateSource(fmt.Sprintf("$%s is actionsync's own setting or a CI job's token (no from_env may hold %s, nor start with %s); give the value a variable of its own",
			name, privateEnvPart, strings.Join(privateEnv, ", ")))
	}
	for _, e := range l.repo.Config.Environments {
		t := e.Tenant
		if slices.Contains([]string{t.DomainEnv, t.ClientIDEnv, t.ClientSecretEnv, t.TokenEnv}, name) {
			return privateSource(fmt.Sprintf("$%s holds environment %s's tenant credentials (%s); give the value a variable of its own", name, e.Name, ConfigFile))
		}
	}
	return nil
}

// checkFileSource refuses a from_file that is not an absolute path, or
// whose path, once its links are resolved, is refused by checkPath. The
// default reader (readSecretFile) checks again the file it opened.
func checkFileSource(name string, private []string) error {
	if !filepath.IsAbs(name) {
		return fmt.Errorf("from_file %s: want an absolute path on the machine that syncs the repo", name)
	}
	path := filepath.Clean(name)
	if r, err := filepath.EvalSymlinks(path); err == nil {
		path = r
	}
	return checkPath(name, path, private)
}

// checkPath refuses path, where from_file name leads, when it is in a Git
// directory (any .git: a checkout's config holds the token actions/checkout
// saved, whichever checkout, worktree or submodule it is), under
// privateDirs, or in one of private.
func checkPath(name, path string, private []string) error {
	if slices.Contains(strings.Split(filepath.ToSlash(path), "/"), ".git") {
		return privateSource(fmt.Sprintf("from_file %s is in a Git directory (.git), where a checkout keeps its credentials: a repo may not read it", name))
	}
	for _, dir := range privateDirs {
		if within(path, dir) {
			return privateSource(fmt.Sprintf("from_file %s is under %s, the machine's own state: a repo may not read it", name, dir))
		}
	}
	for _, p := range private {
		if p == "" {
			continue
		}
		if r, err := filepath.Abs(p); err == nil {
			p = r
		}
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		if within(path, p) {
			return privateSource(fmt.Sprintf("from_file %s is in %s, actionsync's own credential or the repo's checkout: a repo may not read it", name, p))
		}
	}
	return nil
}

// openSecretFile opens a from_file source once and checks what it opened,
// not the path again: where its descriptor leads (a link swapped after
// checkFileSource, a /proc magic link, a pipe), that it is a regular file,
// and that it is none of private's files under another name (a hard
// link).
func openSecretFile(name string, private []string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0) // a FIFO does not wait for a writer
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	err = checkOpened(name, f, fi, private)
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func checkOpened(name string, f *os.File, fi os.FileInfo, private []string) error {
	if !fi.Mode().IsRegular() {
		return privateSource(fmt.Sprintf("from_file %s is not a regular file", name))
	}
	path, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil || !filepath.IsAbs(path) {
		return privateSource(fmt.Sprintf("from_file %s: where it leads cannot be told", name))
	}
	if err := checkPath(name, path, private); err != nil {
		return err
	}
	for _, p := range private {
		if pi, err := os.Stat(p); err == nil && os.SameFile(fi, pi) {
			return privateSource(fmt.Sprintf("from_file %s is %s, actionsync's own credential: a repo may not read it", name, p))
		}
	}
	return nil
}

// within reports whether path is dir or under it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// privateSource is the error of a source a repo may not read.
type privateSource string

func (e privateSource) Error() string { return string(e) }

// Unwrap makes errors.Is(err, ErrPrivateSource) hold.
func (e privateSource) Unwrap() error { return ErrPrivateSource }
