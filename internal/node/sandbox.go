package node

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrOldNode means the node found is older than 20, which has no permission
// model to keep the code it runs from this machine's files.
var ErrOldNode = errors.New("node 20 or later is needed")

// The code a run executes is untrusted: in CI it is a pull request's. Its
// node runs under Node.js's permission model
// (https://nodejs.org/api/permissions.html): it reads only its dependency
// sets and its own scratch directory, writes only that directory, and
// starts no process, worker, native addon or WASI module. So neither
// /proc/<pid>/environ of the processes above it (the CI job's credentials)
// nor any other file of the machine can reach a report, and nothing the
// code starts can outlive the run.

// permission is how one node binary spells the permission model.
type permission struct {
	flags []string // what turns it on
}

// permissionOf asks nodePath for its version and says how it turns the
// permission model on: --permission from 22.13 and 23.5, before that
// --experimental-permission (20 and later), whose warning is kept out of
// the stderr an error message shows.
func permissionOf(ctx context.Context, nodePath string) (permission, error) {
	ctx, cancel := context.WithTimeout(ctx, bootTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, nodePath, "--version").Output()
	if err != nil {
		return permission{}, fmt.Errorf("%w: %s --version: %v", ErrNoNode, nodePath, err)
	}
	v := strings.TrimSpace(string(out))
	major, minor, ok := parseVersion(v)
	switch {
	case !ok:
		return permission{}, fmt.Errorf("%w: %s --version answered %q", ErrNoNode, nodePath, v)
	case major < 20:
		return permission{}, fmt.Errorf("%w to run action code without access to this machine's files (found %s at %s)", ErrOldNode, v, nodePath)
	case major >= 24, major == 23 && minor >= 5, major == 22 && minor >= 13:
		return permission{flags: []string{"--permission"}}, nil
	default:
		return permission{flags: []string{"--experimental-permission", "--no-warnings"}}, nil
	}
}

// parseVersion reads node's "v20.20.2".
func parseVersion(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil
}

// args are node's arguments for a run in scratch whose code resolves its
// requires from paths (node_modules directories of installed sets): each
// set's directory may be read, and scratch read and written.
func (p permission) args(scratch string, paths ...[]string) []string {
	args := append([]string{}, p.flags...)
	seen := map[string]bool{}
	allow := func(flag, dir string) {
		for _, d := range []string{dir, realPath(dir)} {
			if !seen[flag+d] {
				seen[flag+d] = true
				args = append(args, flag+"="+d)
			}
		}
	}
	allow("--allow-fs-read", scratch)
	allow("--allow-fs-write", scratch)
	for _, ps := range paths {
		for _, nm := range ps {
			allow("--allow-fs-read", filepath.Dir(nm)) // the set: its package.json and node_modules
		}
	}
	return args
}

// realPath is dir with its symbolic links resolved, as node compares paths
// after resolving them; dir itself when that fails.
func realPath(dir string) string {
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		return r
	}
	return dir
}

// permissionFor is the Runner's node's permission, asked once.
func (r *Runner) permissionFor(ctx context.Context, nodePath string) (permission, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.perm != nil && r.permNode == nodePath {
		return *r.perm, nil
	}
	p, err := permissionOf(ctx, nodePath)
	if err != nil {
		return permission{}, err
	}
	r.perm, r.permNode = &p, nodePath
	return p, nil
}
