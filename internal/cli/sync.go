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
	repo   repoFlags
	log    logFlags
	engine engineFlags
	daemon daemonFlags
	dryRun bool
	once   bool
	test   bool
	output string
	env    auth0Env
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
}

func (c *syncCommand) validate() error {
	c.env = readAuth0Env(osGetenv)
	errs := []error{c.repo.validate(), c.log.validate(), c.engine.validate(), c.daemon.validate(), c.env.validate(),
		c.env.checkBuiltin(!c.dryRun && !c.once && c.repo.isURL()), oneOf("output", c.output, "text", "markdown", "json")}
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
	conn, err := connect(ctx, c.env, c.engine.secretKeyFile, c.engine.maxActions, metrics.ObserveRequest, log)
	if err != nil {
		return exitError, err
	}
	src := c.repo.source()
	opts := c.engine.options(conn, log)
	if c.test {
		opts.Gate = &remote.Gate{API: conn.api.Action, Parallel: c.engine.parallel}
	}
	eng := sync.New(conn.api, src, opts)
	switch {
	case c.dryRun:
		return dryRun(ctx, eng, c.output, out)
	case c.once:
		return once(ctx, eng, c.output, out)
	}
	return exitOK, runDaemon(ctx, c, eng, src, metrics, log)
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
	fs.IntVar(&c.parallel, "parallel", 4, "requests in flight at once (actions waiting for builds hold none)")
	fs.StringVar(&c.secretKeyFile, "secret-key-file", "", "key for secret fingerprints (default: derived from AUTH0_CLIENT_SECRET)")
	fs.BoolVar(&c.adoptForeign, "adopt-foreign", false, "take over actions of the repo that another owner wrote (default: refuse them)")
	bindMaxActions(fs, &c.maxActions)
}

// bindMaxActions binds --max-actions, which sync and local-tenant share.
func bindMaxActions(fs *flag.FlagSet, dst *int) {
	fs.IntVar(dst, "max-actions", diff.DefaultMaxActions, "the tenant's limit of actions, Marketplace integrations included: Auth0's default entity limit; raise it where the tenant's plan allows more")
}

func validMaxActions(n int) error {
	if n < 1 {
		return fmt.Errorf("--max-actions %d: want 1 or more", n)
	}
	return nil
}

func (c *engineFlags) validate() error {
	if c.parallel < 1 {
		return fmt.Errorf("--parallel %d: want 1 or more", c.parallel)
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
