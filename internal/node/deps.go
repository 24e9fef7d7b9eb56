package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// modulePaths installs each action's dependency set and returns, per
// action, the directories its require looks in: its set's node_modules, or
// none.
func (r *Runner) modulePaths(ctx context.Context, actions []Action) ([][]string, error) {
	paths := make([][]string, len(actions))
	for i, a := range actions {
		var err error
		if paths[i], err = r.depsPath(ctx, a.Name, a.Dependencies); err != nil {
			return nil, err
		}
	}
	return paths, nil
}

// depsPath is where code with deps resolves its requires: the installed set
// (installed first if need be), or nowhere for none.
func (r *Runner) depsPath(ctx context.Context, who string, deps []Dependency) ([]string, error) {
	if len(deps) == 0 {
		return []string{}, nil
	}
	if r.Cache == "" {
		return nil, fmt.Errorf("run %s: it has dependencies and the runner has no dependency cache", who)
	}
	dir, err := r.install(ctx, deps)
	if err != nil {
		return nil, err
	}
	return []string{filepath.Join(dir, "node_modules")}, nil
}

// cacheKey names a dependency set (and the registry it comes from) in the
// cache.
func cacheKey(deps []Dependency, registry string) string {
	lines := make([]string, len(deps))
	for i, d := range deps {
		lines[i] = d.Name + "@" + d.Version
	}
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n") + "\nregistry=" + registry))
	return hex.EncodeToString(sum[:10])
}

func setName(deps []Dependency) string {
	names := make([]string, len(deps))
	for i, d := range deps {
		names[i] = d.Name + "@" + d.Version
	}
	return strings.Join(names, " ")
}

// install returns the cache directory holding deps, installing them first
// if no run has. Runs in this process that need the same set wait for one
// install; other processes wait on a lock file. npm works in a temporary
// directory that is renamed into place when complete, so a half-written
// entry is never used.
func (r *Runner) install(ctx context.Context, deps []Dependency) (string, error) {
	key := cacheKey(deps, r.Registry)
	// Absolute: node resolves the returned directory from a scratch
	// directory of its own.
	cache, err := filepath.Abs(r.Cache)
	if err != nil {
		return "", fmt.Errorf("install %s: %w", setName(deps), err)
	}
	dir := filepath.Join(cache, key)
	if ready(dir) {
		return dir, nil
	}
	unlock := r.lockKey(key)
	defer unlock()
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("install %s: %w", setName(deps), err)
	}
	release, err := lockFile(dir + ".lock")
	if err != nil {
		return "", fmt.Errorf("install %s: %w", setName(deps), err)
	}
	defer release()
	if ready(dir) {
		return dir, nil
	}
	if err := r.installInto(ctx, dir, key, deps); err != nil {
		return "", err
	}
	return dir, nil
}

func ready(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "package.json"))
	return err == nil
}

// lockKey serialises the installs of one set within this process.
func (r *Runner) lockKey(key string) func() {
	r.mu.Lock()
	if r.pending == nil {
		r.pending = map[string]*sync.Mutex{}
	}
	m := r.pending[key]
	if m == nil {
		m = &sync.Mutex{}
		r.pending[key] = m
	}
	r.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// lockFile holds an exclusive lock on path until release is called.
func lockFile(path string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// installInto runs npm in a fresh temporary directory beside dir and
// renames it to dir. Leftovers of installs that died (whose lock this one
// now holds) are removed first.
func (r *Runner) installInto(ctx context.Context, dir, key string, deps []Dependency) error {
	name := setName(deps)
	npm, err := r.npmPath()
	if err != nil {
		return fmt.Errorf("install %s: %w", name, err)
	}
	stale, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".tmp-"+key+"-*"))
	for _, s := range stale {
		os.RemoveAll(s)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-"+key+"-")
	if err != nil {
		return fmt.Errorf("install %s: %w", name, err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := writePackageJSON(tmp, deps); err != nil {
		return fmt.Errorf("install %s: %w", name, err)
	}
	if r.Logger != nil {
		r.Logger.Info("installing dependencies", "dependencies", name, "cache", r.Cache)
	}
	if err := r.npmInstall(ctx, npm, tmp); err != nil {
		return fmt.Errorf("install %s: %w", name, err)
	}
	if err := checkInstalled(tmp, deps); err != nil {
		return fmt.Errorf("install %s: %w", name, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("install %s: %w", name, err)
	}
	return nil
}

func writePackageJSON(dir string, deps []Dependency) error {
	m := map[string]string{}
	for _, d := range deps {
		m[d.Name] = d.Version
	}
	b, err := json.MarshalIndent(map[string]any{"name": "actionsync-dependencies", "private": true, "dependencies": m}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "package.json"), b, 0o644)
}

// npmInstall installs the package.json in dir, running no package's
// scripts.
func (r *Runner) npmInstall(ctx context.Context, npm, dir string) error {
	args := []string{"install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-update-notifier", "--no-progress", "--loglevel=error"}
	if r.Registry != "" {
		args = append(args, "--registry="+r.Registry)
	}
	cmd := exec.CommandContext(ctx, npm, args...)
	cmd.Dir = dir
	out := &tail{max: maxStderr}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return npmError(out.String(), err)
	}
	return nil
}

// networkCodes are the error codes npm prints when it cannot reach the
// registry at all.
var networkCodes = []string{"ENOTFOUND", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH", "ERR_SOCKET_TIMEOUT"}

// npmError says why npm failed: the registry unreachable (ErrRegistry) or
// anything else (ErrInstall), with npm's own error lines (for a network
// error, the one naming the request that failed).
func npmError(out string, err error) error {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l, ok := strings.CutPrefix(l, "npm error")
		if !ok {
			l, ok = strings.CutPrefix(l, "npm ERR!")
		}
		if l = strings.TrimSpace(l); ok && l != "" && !strings.HasPrefix(l, "at ") && !strings.Contains(l, "complete log of this run") {
			lines = append(lines, l)
		}
	}
	sentinel := ErrInstall
	for _, code := range networkCodes {
		if strings.Contains(out, code) {
			sentinel = ErrRegistry
		}
	}
	if i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "request to") }); sentinel == ErrRegistry && i >= 0 {
		lines = lines[i : i+1]
	}
	detail := strings.Join(lines, "; ")
	if detail == "" {
		detail = err.Error()
	}
	if len(detail) > 600 {
		detail = strings.ToValidUTF8(detail[:600], "") + "…"
	}
	return fmt.Errorf("%w: %s", sentinel, detail)
}

// checkInstalled makes sure npm put each dependency, at its version, where
// require will look.
func checkInstalled(dir string, deps []Dependency) error {
	for _, d := range deps {
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", filepath.FromSlash(d.Name), "package.json"))
		if err != nil {
			return fmt.Errorf("%w: %s is missing after npm install", ErrInstall, d.Name)
		}
		var pkg struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(b, &pkg) != nil || pkg.Version != d.Version {
			return fmt.Errorf("%w: npm installed %s@%s, want %s", ErrInstall, d.Name, pkg.Version, d.Version)
		}
	}
	return nil
}
