package manifest

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// A repo may come from a stranger's pull request, and the values of its
// secrets come from the machine that syncs it: from_env and from_file may
// not name what that machine holds for actionsync itself or for its CI job.

// ErrPrivateSource is wrapped by the error of a secret whose source is one
// a repo may not read.
var ErrPrivateSource = errors.New("a source a repo may not read")

// privateEnv are the prefixes of the variables a from_env may not name:
// actionsync's settings and credentials (AUTH0_CLIENT_SECRET among them),
// and the job tokens of GitHub Actions and GitLab CI.
var privateEnv = []string{"AUTH0_", "ACTIONSYNC_", "GITHUB_TOKEN", "ACTIONS_", "CI_JOB_"}

// privateDirs hold the machine's processes (their environments among
// them), devices and kernel state; a from_file may not read under them.
var privateDirs = []string{"/proc", "/sys", "/dev"}

func checkEnvSource(name string) error {
	for _, p := range privateEnv {
		if strings.HasPrefix(name, p) {
			return privateSource(fmt.Sprintf("$%s is actionsync's own setting or a CI job's token (no from_env may start with %s); give the value a variable of its own",
				name, strings.Join(privateEnv, ", ")))
		}
	}
	return nil
}

// checkFileSource refuses a from_file that is not an absolute path, or
// that is, once its links are resolved, under /proc, /sys, /dev or one of
// private.
func checkFileSource(name string, private []string) error {
	if !filepath.IsAbs(name) {
		return fmt.Errorf("from_file %s: want an absolute path on the machine that syncs the repo", name)
	}
	path := resolved(name)
	for _, dir := range privateDirs {
		if within(path, dir) {
			return privateSource(fmt.Sprintf("from_file %s is under %s, the machine's own state: a repo may not read it", name, dir))
		}
	}
	for _, p := range private {
		if p != "" && within(path, resolved(p)) {
			return privateSource(fmt.Sprintf("from_file %s is in %s, actionsync's own credential or the repo's checkout: a repo may not read it", name, p))
		}
	}
	return nil
}

// resolved is name with its symbolic links resolved, when it exists.
func resolved(name string) string {
	abs, err := filepath.Abs(name)
	if err != nil {
		abs = filepath.Clean(name)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	return abs
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
