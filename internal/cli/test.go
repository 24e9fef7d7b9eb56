package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/actionsync/actionsync/internal/actiontest"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/node"
)

// testCommand is `actionsync test [ACTION...]`: it runs the repo's test
// cases under Node.js on this machine, with no tenant.
type testCommand struct {
	repo     repoFlags
	log      logFlags
	output   string
	parallel int
	cacheDir string
	registry string
	envName  string
	actions  []string
}

func (c *testCommand) flags(fs *flag.FlagSet) {
	c.repo.bind(fs)
	c.log.bind(fs)
	fs.StringVar(&c.output, "output", "text", "text, markdown (a PR comment) or json")
	fs.IntVar(&c.parallel, "parallel", 4, "test cases run at once")
	fs.StringVar(&c.cacheDir, "cache-dir", filepath.Join(builtinDir, "npm"), "where each action's npm dependencies are installed, once per distinct set")
	fs.StringVar(&c.registry, "npm-registry", "", "npm registry to install dependencies from (default: npm's own setting)")
	bindEnv(fs, &c.envName, "")
}

func (c *testCommand) setArgs(args []string) { c.actions = args }

func (c *testCommand) validate() error {
	err := errors.Join(c.repo.validate(), c.log.validate(), oneOf("output", c.output, "text", "markdown", "json"), validEnv(c.envName, false))
	if c.parallel < 1 {
		err = errors.Join(err, fmt.Errorf("--parallel %d: want 1 or more", c.parallel))
	}
	return err
}

func (c *testCommand) run(ctx context.Context, out streams) (int, error) {
	log := newLogger(out.stderr, c.log.format)
	src, err := c.repo.sourceOf(ctx, c.envName)
	if err != nil {
		return exitError, err
	}
	fsys, rev, err := src.Checkout(ctx)
	if err != nil {
		return exitError, fmt.Errorf("check out: %w", err)
	}
	repo, err := manifest.Load(fsys, manifest.Options{Getenv: placeholderSecrets(log, "test cases"), Environment: c.envName})
	if err != nil {
		return exitError, err
	}
	suite, err := actiontest.Load(fsys, repo)
	if err == nil {
		suite, err = suite.Select(c.actions...)
	}
	if err != nil {
		return exitError, err
	}
	log.Info("testing", "commit", rev, "cases", len(suite.Cases))
	runner := &node.Runner{Cache: c.cacheDir, Registry: c.registry, Logger: log}
	report := suite.Run(ctx, runner, actiontest.RunOptions{Parallel: c.parallel})
	if err := render(report, c.output, out.stdout); err != nil {
		return exitError, err
	}
	if !report.Passed() {
		return exitError, errors.New(report.Summary())
	}
	return exitOK, nil
}

// placeholderSecrets reads secret sources from the environment; one that is
// unset gets a placeholder value, with a warning, so code and cases that do
// not need the real value run anywhere (the built-in tenant, local tests).
func placeholderSecrets(log *slog.Logger, what string) func(string) string {
	return func(k string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		log.Warn("secret source unset: "+what+" get a placeholder value", "env", k)
		return "placeholder-for-" + k
	}
}
