package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/source"
	"github.com/actionsync/actionsync/internal/sync"
)

// bindEnv binds --env, which every command that reads a repo shares.
func bindEnv(fs *flag.FlagSet, dst *string, all string) {
	fs.StringVar(dst, "env", "", "the environment of actionsync.yaml to use: its tenant, branch and overlay"+all+
		" (unset: the repo as committed, into AUTH0_DOMAIN's tenant; see docs/ENVIRONMENTS.md)")
}

// validEnv checks --env's form: an environment's name is checked against
// actionsync.yaml once the repo is read.
func validEnv(name string, allowAll bool) error {
	if name == manifest.AllEnvironments && !allowAll {
		return fmt.Errorf("--env all: this command takes one environment; all is for --dry-run and the daemon")
	}
	if strings.ContainsAny(name, " \t\n/") {
		return fmt.Errorf("--env %q: want an environment's name", name)
	}
	return nil
}

// target is one tenant a command reads or writes, and where the repo comes
// from for it.
type target struct {
	// name is the environment; "" for the repo as committed into the
	// tenant AUTH0_* names.
	name string
	auth auth0Env
	src  sync.Source
	// ref is the branch the environment follows; "" without one.
	ref string
	// settings are the environment's in actionsync.yaml; nil without one.
	settings *manifest.Environment
	// err is what is wrong with the environment's settings (a variable
	// unset): a dry run of every environment reports it in its section.
	err error
}

// readConfig reads actionsync.yaml of the commit src yields.
func readConfig(ctx context.Context, src sync.Source) (*manifest.Config, error) {
	fsys, _, err := src.Checkout(ctx)
	if err != nil {
		return nil, fmt.Errorf("check out: %w", err)
	}
	return manifest.LoadConfig(fsys)
}

// targets resolves --env against the repo's actionsync.yaml: the tenant,
// source and branch of each environment it names. Without --env it is the
// repo as committed, into AUTH0_*'s tenant, except where that would
// mislead: when AUTH0_DOMAIN is the tenant of one of the repo's
// environments, that environment's overlay must apply, so --env is
// required.
func (c *repoFlags) targets(ctx context.Context, envName string, base auth0Env, getenv func(string) string) ([]target, error) {
	if envName == "" && base.builtin() {
		return []target{{auth: base, src: c.source()}}, nil
	}
	src := c.source()
	cfg, err := readConfig(ctx, src)
	if err != nil {
		return nil, err
	}
	names := cfg.EnvironmentNames()
	switch {
	case envName == "":
		if e := environmentAt(cfg, base.domain, getenv); e != nil {
			return nil, fmt.Errorf("AUTH0_DOMAIN is the tenant of environment %s in %s: sync it with --env %s, so that its overlay applies (its excluded actions left out, its secrets from its own sources)", e.Name, manifest.ConfigFile, e.Name)
		}
		return []target{{auth: base, src: src}}, nil
	case envName == manifest.AllEnvironments && len(names) == 0:
		return nil, fmt.Errorf("--env all: %s defines no environments", manifest.ConfigFile)
	case envName != manifest.AllEnvironments && cfg.Environment(envName) == nil:
		return nil, noSuchEnv(envName, cfg)
	}
	if err := sharedTenant(cfg, getenv); err != nil {
		return nil, err
	}
	var out []target
	for _, e := range cfg.Environments {
		if envName == manifest.AllEnvironments || e.Name == envName {
			auth, err := envAuth(e, getenv)
			var es sync.Source
			es, src = c.refSource(src, e.Ref)
			out = append(out, target{name: e.Name, auth: auth, src: es, ref: e.Ref, settings: e, err: err})
		}
	}
	return out, nil
}

// environmentAt is the environment whose tenant is domain, or nil.
func environmentAt(cfg *manifest.Config, domain string, getenv func(string) string) *manifest.Environment {
	for _, e := range cfg.Environments {
		if d := envDomain(e, getenv); d != "" && tenantHost(d) == tenantHost(domain) {
			return e
		}
	}
	return nil
}

// sharedTenant refuses a config in which two environments name one tenant:
// each sync of one would undo the other's overlay (its excluded actions,
// its secret values), and --prune would delete the other's actions. Each
// "local" environment has a built-in tenant of its own; a domain_env that
// is unset is not known, and not compared.
func sharedTenant(cfg *manifest.Config, getenv func(string) string) error {
	seen := map[string]string{}
	for _, e := range cfg.Environments {
		d := envDomain(e, getenv)
		if d == "" || d == manifest.LocalDomain {
			continue
		}
		h := tenantHost(d)
		if other, ok := seen[h]; ok {
			return fmt.Errorf("environments %s and %s in %s name one tenant, %s: each sync of one would undo the other's overlay; give each environment a tenant of its own", other, e.Name, manifest.ConfigFile, h)
		}
		seen[h] = e.Name
	}
	return nil
}

// envDomain is e's tenant as set: its domain, or the value of domain_env.
func envDomain(e *manifest.Environment, getenv func(string) string) string {
	if e.Tenant.DomainEnv != "" {
		return getenv(e.Tenant.DomainEnv)
	}
	return e.Tenant.Domain
}

// tenantHost is a tenant's domain as compared: lower case, without scheme
// or trailing slash.
func tenantHost(d string) string {
	d = strings.ToLower(strings.TrimSuffix(d, "/"))
	if _, after, found := strings.Cut(d, "://"); found {
		return after
	}
	return d
}

func noSuchEnv(name string, cfg *manifest.Config) error {
	return fmt.Errorf("--env %s: %s defines no such environment (defined: %s)", name, manifest.ConfigFile, strings.Join(cfg.EnvironmentNames(), ", "))
}

// targetErrors joins the errors of the targets' settings.
func targetErrors(ts []target) error {
	var errs []error
	for _, t := range ts {
		errs = append(errs, t.err)
	}
	return errors.Join(errs...)
}

// target resolves --env (one environment, or none) to its one target.
func (c *repoFlags) target(ctx context.Context, envName string, base auth0Env) (target, error) {
	ts, err := c.targets(ctx, envName, base, osGetenv)
	if err == nil {
		err = targetErrors(ts)
	}
	if err != nil {
		return target{}, err
	}
	return ts[0], nil
}

// sourceOf is the commit environment envName syncs (its branch of a Git
// URL), with no tenant: for commands that read the repo only.
func (c *repoFlags) sourceOf(ctx context.Context, envName string) (sync.Source, error) {
	if envName == "" || !c.isURL() {
		return c.source(), nil
	}
	src := c.source()
	cfg, err := readConfig(ctx, src)
	if err != nil {
		return nil, err
	}
	e := cfg.Environment(envName)
	if e == nil {
		return nil, noSuchEnv(envName, cfg)
	}
	es, _ := c.refSource(src, e.Ref)
	return es, nil
}

// refSource is the source of an environment following ref, given src, the
// source of --branch that read actionsync.yaml (nil once taken): src
// itself, its commit already fetched, when ref is that branch, so that it
// is not fetched twice; otherwise a source of its own (envSource). It
// returns what is left of src for the next environment: one source serves
// one environment.
func (c *repoFlags) refSource(src sync.Source, ref string) (use, left sync.Source) {
	if src != nil && c.isURL() && ref == c.branch {
		return src, nil
	}
	return c.envSource(ref), src
}

// envSource is the commit an environment syncs: its branch of a Git URL;
// for a local directory, the tree as it is (a pull request's preview, or
// the branch a CI job checked out).
func (c *repoFlags) envSource(ref string) sync.Source {
	if c.isURL() {
		s := c.source().(*source.Remote)
		s.Branch = ref
		return s
	}
	return c.source()
}

// envAuth reads an environment's tenant settings from the variables it
// names: every problem at once, naming the environment.
func envAuth(e *manifest.Environment, getenv func(string) string) (auth0Env, error) {
	t := e.Tenant
	a := auth0Env{env: e.Name, domain: t.Domain, ci: getenv("CI")}
	var errs []error
	read := func(name string) string {
		v := getenv(name)
		if name != "" && v == "" {
			errs = append(errs, fmt.Errorf("$%s is unset", name))
		}
		return v
	}
	if t.DomainEnv != "" {
		a.domain = read(t.DomainEnv)
	}
	if a.domain != "" && !a.builtin() {
		if err := manifest.ValidDomain(a.domain); err != nil {
			errs = append(errs, err)
		}
		switch {
		case t.TokenEnv != "":
			a.accessToken = read(t.TokenEnv)
		case t.ClientIDEnv != "":
			a.clientID, a.clientSecret = read(t.ClientIDEnv), read(t.ClientSecretEnv)
		default:
			errs = append(errs, fmt.Errorf("the tenant %s needs credentials: name them with client_id_env and client_secret_env, or token_env", a.domain))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return a, fmt.Errorf("environment %s: %w", e.Name, err)
	}
	return a, nil
}

// checkBranch refuses to apply an environment's overlay to a work tree on
// another branch than the environment's: promotion is a merge into that
// branch, never a run on the wrong one. A detached HEAD (as CI services
// check out) is not checked.
func (c *repoFlags) checkBranch(t target) error {
	if t.ref == "" || c.isURL() {
		return nil
	}
	branch, err := source.Branch(filepath.Join(c.repo, c.path))
	if err != nil || branch == "" || branch == t.ref {
		return err
	}
	return fmt.Errorf("environment %s follows the branch %s; the work tree at %s is on %s: promote by merging into %s", t.name, t.ref, c.repo, branch, t.ref)
}
