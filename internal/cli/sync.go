package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/actionsync/actionsync/internal/daemon"
	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/remote"
	"github.com/actionsync/actionsync/internal/sync"
)

// syncCommand is `actionsync [sync]`: --dry-run, --once, or the daemon.
type syncCommand struct {
	repo    repoFlags
	log     logFlags
	engine  engineFlags
	daemon  daemonFlags
	dryRun  bool
	once    bool
	test    bool
	output  string
	envName string
	env     auth0Env
}

func (c *syncCommand) flags(fs *flag.FlagSet) {
	c.repo.bind(fs)
	c.log.bind(fs)
	c.engine.bind(fs)
	c.daemon.bind(fs)
	fs.BoolVar(&c.dryRun, "dry-run", false, "print the plan and change nothing; exit 2 when changes are pending")
	fs.BoolVar(&c.once, "once", false, "sync once and exit: 0 when the tenant matches the commit, 1 otherwise")
	fs.BoolVar(&c.test, "test", false, "tested deploy (--once and the daemon): run each changed action's cases on its built draft through the tenant's test endpoint, and deploy only the actions whose cases pass")
	fs.StringVar(&c.output, "output", "text", "text, markdown (a PR comment) or json")
	bindEnv(fs, &c.envName, "; all for every one (--dry-run: a section each; the daemon: syncs each)")
}

func (c *syncCommand) validate() error {
	c.env = readAuth0Env(osGetenv)
	daemon := !c.dryRun && !c.once
	errs := []error{c.repo.validate(), c.log.validate(), c.engine.validate(), c.daemon.validate(),
		oneOf("output", c.output, "text", "markdown", "json"), validEnv(c.envName, !c.once)}
	if c.envName == "" {
		errs = append(errs, c.env.validate(), c.env.checkBuiltin(daemon && c.repo.isURL()))
	}
	if c.envName != "" && daemon && c.repo.repo != "" && !c.repo.isURL() {
		errs = append(errs, errors.New("the daemon follows each environment's branch: --repo must be a Git URL (file:///path/to/repo for a repository on this machine)"))
	}
	if c.dryRun && c.once {
		errs = append(errs, errors.New("--dry-run and --once exclude each other"))
	}
	if c.dryRun && c.test {
		errs = append(errs, errors.New("--test is for --once and the daemon: a dry run builds no draft to test (actionsync test runs the cases locally)"))
	}
	if c.daemon.elect && (c.dryRun || c.once) {
		errs = append(errs, errors.New("--leader-elect is for the daemon, not --dry-run or --once"))
	}
	return errors.Join(errs...)
}

func (c *syncCommand) run(ctx context.Context, out streams) (int, error) {
	log := newLogger(out.stderr, c.log.format)
	metrics := daemon.NewMetrics()
	defer c.repo.close()
	targets, err := c.repo.targets(ctx, c.envName, c.env, osGetenv)
	if err != nil {
		return exitError, err
	}
	if c.dryRun && c.envName == manifest.AllEnvironments {
		return c.dryRunAll(ctx, targets, metrics, log, out)
	}
	if err := targetErrors(targets); err != nil {
		return exitError, err
	}
	if !c.dryRun && !c.once && c.envName != "" {
		return exitOK, runEnvironments(ctx, c, targets, metrics, log)
	}
	t := targets[0]
	if c.once {
		if err := c.repo.checkBranch(t); err != nil {
			return exitError, err
		}
	}
	eng, err := c.newEngine(ctx, t, metrics.Observer(t.name), log)
	if err != nil {
		return exitError, err
	}
	switch {
	case c.dryRun:
		return dryRun(ctx, eng, c.output, out)
	case c.once:
		return once(ctx, eng, c.output, out)
	}
	return exitOK, runDaemon(ctx, c, daemon.Config{Engine: eng}, t.src, metrics, log)
}

// newEngine connects to a target's tenant and returns an engine that syncs
// its source there, in its environment.
func (c *syncCommand) newEngine(ctx context.Context, t target, observe func(string, int), log *slog.Logger) (*sync.Engine, error) {
	if t.name != "" {
		log = log.With("environment", t.name)
	}
	conn, err := connect(t.auth, connOptions{keyFile: c.engine.secretKeyFile, maxActions: c.engine.maxActions,
		readOnly: c.dryRun, observe: observe, log: log})
	if err != nil {
		if t.name != "" {
			err = fmt.Errorf("environment %s: %w", t.name, err)
		}
		return nil, err
	}
	opts := c.engine.options(conn, log)
	opts.Manifest.Environment = t.name
	opts.Manifest.Private = c.repo.private(c.engine.secretKeyFile, c.daemon.webhookSecret)
	if c.test {
		opts.Gate = &remote.Gate{API: conn.api.Action, Parallel: c.engine.parallel}
	}
	return sync.New(conn.api, t.src, opts), nil
}

// engineFlags shape what a sync does.
type engineFlags struct {
	prune, allowEmpty, adoptForeign bool
	parallel, maxActions            int
	secretKeyFile                   string
}

func (c *engineFlags) bind(fs *flag.FlagSet) {
	fs.BoolVar(&c.prune, "prune", false, "delete the actions this owner wrote that the repo no longer holds")
	fs.BoolVar(&c.allowEmpty, "allow-empty", false, "allow a plan that deletes every action this owner wrote")
	fs.IntVar(&c.parallel, "parallel", 4, "requests in flight at once, 1 to 64 (actions waiting for builds hold none)")
	fs.StringVar(&c.secretKeyFile, "secret-key-file", "", "key for secret fingerprints (default: derived from AUTH0_CLIENT_SECRET)")
	fs.BoolVar(&c.adoptForeign, "adopt-foreign", false, "take over actions of the repo that another owner wrote (default: refuse them)")
	bindMaxActions(fs, &c.maxActions)
}

// bindMaxActions binds --max-actions, which sync and local-tenant share.
func bindMaxActions(fs *flag.FlagSet, dst *int) {
	fs.IntVar(dst, "max-actions", diff.DefaultMaxActions, "the tenant's limit of actions, Marketplace integrations included: Auth0's default entity limit; raise it where the tenant's plan allows more")
}

// maxParallel bounds --parallel: requests in flight (sync) or test cases
// run at once, each a node process (test). A tenant answers 2 to 10
// requests a second; past this, more wait their turn and hold memory.
const maxParallel = 64

func validParallel(n int) error {
	if n < 1 || n > maxParallel {
		return fmt.Errorf("--parallel %d: want 1 to %d", n, maxParallel)
	}
	return nil
}

func validMaxActions(n int) error {
	if n < 1 {
		return fmt.Errorf("--max-actions %d: want 1 or more", n)
	}
	return nil
}

func (c *engineFlags) validate() error {
	if err := validParallel(c.parallel); err != nil {
		return err
	}
	return validMaxActions(c.maxActions)
}

func (c *engineFlags) options(conn *conn, log *slog.Logger) sync.Options {
	return sync.Options{
		Prune: c.prune, AllowEmpty: c.allowEmpty, SecretKey: conn.secretKey, Parallel: c.parallel,
		AdoptForeign: c.adoptForeign, MaxActions: c.maxActions,
		Logger: log, Manifest: manifestOptions(conn.builtin, log),
	}
}

// manifestOptions reads secrets from the environment; for the built-in
// tenant an unset one gets a placeholder, so the example runs anywhere.
func manifestOptions(builtin bool, log *slog.Logger) manifest.Options {
	if !builtin {
		return manifest.Options{}
	}
	return manifest.Options{Getenv: placeholderSecrets(log, "the built-in local tenant's actions")}
}

// dryRun prints the plan: exit 0 when nothing is to change, 2 otherwise.
func dryRun(ctx context.Context, eng *sync.Engine, output string, out streams) (int, error) {
	p, err := eng.Plan(ctx)
	if err != nil {
		return exitError, err
	}
	if err := render(p.Changes, output, out.stdout); err != nil {
		return exitError, err
	}
	if p.Changes.Empty() {
		return exitOK, nil
	}
	return exitPending, nil
}

// once plans and applies, and prints the summary: exit 0 when the tenant
// matches the commit.
func once(ctx context.Context, eng *sync.Engine, output string, out streams) (int, error) {
	p, err := eng.Plan(ctx)
	if err != nil {
		return exitError, err
	}
	res, applyErr := eng.Apply(ctx, p)
	if err := renderResult(res, output, out.stdout); err != nil {
		return exitError, errors.Join(applyErr, err)
	}
	if applyErr != nil {
		return exitError, applyErr
	}
	return exitOK, nil
}
