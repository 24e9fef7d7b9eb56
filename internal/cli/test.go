package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/actionsync/actionsync/internal/actiontest"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/node"
	"github.com/actionsync/actionsync/internal/remote"
	"github.com/actionsync/actionsync/internal/sync"
)

// testCommand is `actionsync test [ACTION...]`: it runs the repo's test
// cases under Node.js on this machine, with no tenant, or with --remote on
// the tenant's drafts.
type testCommand struct {
	repo          repoFlags
	log           logFlags
	output        string
	mdLimit       int
	parallel      int
	cacheDir      string
	registry      string
	remote        bool
	secretKeyFile string
	envName       string
	env           auth0Env
	actions       []string
}

func (c *testCommand) flags(fs *flag.FlagSet) {
	c.repo.bind(fs)
	c.log.bind(fs)
	fs.StringVar(&c.output, "output", "text", "text, markdown (a PR comment) or json")
	fs.IntVar(&c.mdLimit, "markdown-limit", actiontest.MarkdownLimit, "with --output markdown: the most bytes the report takes, cut with a line that says so (default: GitHub's comment limit)")
	fs.IntVar(&c.parallel, "parallel", 4, "test cases run at once, 1 to 64")
	fs.StringVar(&c.cacheDir, "cache-dir", filepath.Join(builtinDir, "npm"), "where each action's npm dependencies are installed, once per distinct set")
	fs.StringVar(&c.registry, "npm-registry", "", "npm registry to install dependencies from (default: npm's own setting)")
	fs.BoolVar(&c.remote, "remote", false, "run the cases on the tenant (AUTH0_DOMAIN): upload each changed action's draft, deploying nothing, and test it through the Management API")
	fs.StringVar(&c.secretKeyFile, "secret-key-file", "", "with --remote: key for secret fingerprints (default: derived from AUTH0_CLIENT_SECRET)")
	bindEnv(fs, &c.envName, "")
}

func (c *testCommand) setArgs(args []string) { c.actions = args }

func (c *testCommand) validate() error {
	err := errors.Join(c.repo.validate(), c.log.validate(), oneOf("output", c.output, "text", "markdown", "json"), validEnv(c.envName, false))
	err = errors.Join(err, validParallel(c.parallel))
	if c.mdLimit < minMarkdownLimit {
		err = errors.Join(err, fmt.Errorf("--markdown-limit %d: want %d or more", c.mdLimit, minMarkdownLimit))
	}
	if c.remote {
		c.env = readAuth0Env(osGetenv)
		err = errors.Join(err, c.env.validate(), c.env.checkBuiltin(false))
	}
	return err
}

func (c *testCommand) run(ctx context.Context, out streams) (int, error) {
	defer c.repo.close()
	log := newLogger(out.stderr, c.log.format)
	if c.remote {
		return c.runRemote(ctx, out, log)
	}
	src, err := c.repo.sourceOf(ctx, c.envName)
	if err != nil {
		return exitError, err
	}
	fsys, rev, err := src.Checkout(ctx)
	if err != nil {
		return exitError, fmt.Errorf("check out: %w", err)
	}
	repo, err := manifest.Load(fsys, manifest.Options{Getenv: placeholderSecrets(log, "test cases"), Environment: c.envName, Private: c.repo.private(c.secretKeyFile)})
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
	return c.finish(report, nil, out)
}

// minMarkdownLimit is the least --markdown-limit: room for the heading,
// the summary and the line that says the report is cut.
const minMarkdownLimit = 500

// finish renders report and returns the exit code: 1 when a case failed
// or erred, or a draft could not be made (failed).
func (c *testCommand) finish(report *actiontest.Report, failed error, out streams) (int, error) {
	var err error
	if c.output == "markdown" {
		err = report.Markdown(out.stdout, c.mdLimit)
	} else {
		err = render(report, c.output, out.stdout)
	}
	if err != nil {
		return exitError, errors.Join(failed, err)
	}
	if !report.Passed() {
		return exitError, errors.Join(failed, errors.New(report.Summary()))
	}
	if failed != nil {
		return exitError, failed
	}
	return exitOK, nil
}

// runRemote plans the commit against the tenant, brings the drafts of the
// actions the cases need to the commit (deploying nothing), and runs the
// cases on them through the Management API's test endpoint.
func (c *testCommand) runRemote(ctx context.Context, out streams, log *slog.Logger) (int, error) {
	t, err := c.repo.target(ctx, c.envName, c.env)
	if err != nil {
		return exitError, err
	}
	conn, err := connect(t.auth, connOptions{keyFile: c.secretKeyFile, log: log})
	if err != nil {
		return exitError, err
	}
	gate := &remote.Gate{API: conn.api.Action, Parallel: c.parallel}
	opts := sync.Options{SecretKey: conn.secretKey, Parallel: c.parallel, Gate: gate, Logger: log, Manifest: manifestOptions(conn.builtin, log)}
	opts.Manifest.Environment = t.name
	opts.Manifest.Private = c.repo.private(c.secretKeyFile)
	eng := sync.New(conn.api, t.src, opts)
	p, err := eng.Plan(ctx)
	if err != nil {
		return exitError, err
	}
	suite, err := p.Cases().Select(c.actions...)
	if err != nil {
		return exitError, err
	}
	log.Info("testing on the tenant", "commit", p.Revision, "cases", len(suite.Cases))
	ids, failed := eng.Drafts(ctx, p, needs(suite, c.actions)...)
	runner := &remote.Runner{API: conn.api.Action, ID: draftID(ids, failed)}
	return c.finish(suite.Run(ctx, runner, actiontest.RunOptions{Parallel: c.parallel}), draftErrors(failed), out)
}

// needs names the actions whose drafts the cases of suite run: the named
// ones and every action their flows bind; none when none is named (all).
func needs(suite *actiontest.Suite, named []string) []string {
	if len(named) == 0 {
		return nil
	}
	out := slices.Clone(named)
	for _, c := range suite.Cases {
		if c.Flow() {
			out = append(out, suite.Bound(c.Trigger)...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// draftID is a remote.Runner's ID: an action's id, unless its draft could
// not be made.
func draftID(ids map[string]string, failed map[string]error) func(string) (string, error) {
	lookup := remote.IDs(ids)
	return func(name string) (string, error) {
		if err, ok := failed[name]; ok {
			return "", fmt.Errorf("action %s: %w: its draft could not be made: %w", name, remote.ErrNoDraft, err)
		}
		return lookup(name)
	}
}

func draftErrors(failed map[string]error) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(failed)) {
		errs = append(errs, fmt.Errorf("draft %s: %w", name, failed[name]))
	}
	return errors.Join(errs...)
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
