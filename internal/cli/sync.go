package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/source"
	"github.com/actionsync/actionsync/internal/sync"
)

type syncConfig struct {
	repo          string
	dryRun        bool
	once          bool
	output        string
	prune         bool
	allowEmpty    bool
	logFormat     string
	secretKeyFile string
	parallel      int
}

func (c *syncConfig) flags(fs interface {
	StringVar(*string, string, string, string)
	BoolVar(*bool, string, bool, string)
	IntVar(*int, string, int, string)
}) {
	fs.StringVar(&c.repo, "repo", "", "the repo to sync: a local path")
	fs.BoolVar(&c.dryRun, "dry-run", false, "print the plan and change nothing; exit 2 when changes are pending")
	fs.BoolVar(&c.once, "once", false, "sync once and exit: 0 when the tenant matches the commit, 1 otherwise")
	fs.StringVar(&c.output, "output", "text", "text, markdown (a PR comment) or json")
	fs.BoolVar(&c.prune, "prune", false, "delete tenant actions the repo does not hold")
	fs.BoolVar(&c.allowEmpty, "allow-empty", false, "allow a plan that deletes every action of the tenant")
	fs.StringVar(&c.logFormat, "log-format", "", "text or json (default: text on a terminal, json otherwise)")
	fs.StringVar(&c.secretKeyFile, "secret-key-file", "", "key for secret fingerprints (default: derived from AUTH0_CLIENT_SECRET)")
	fs.IntVar(&c.parallel, "parallel", 4, "actions applied at once")
}

func (c *syncConfig) validate() error {
	var errs []error
	if c.repo == "" {
		errs = append(errs, errors.New("--repo is required"))
	}
	if c.dryRun && c.once {
		errs = append(errs, errors.New("--dry-run and --once exclude each other"))
	}
	if !c.dryRun && !c.once {
		errs = append(errs, errors.New("the daemon mode is not built yet: give --once or --dry-run"))
	}
	switch c.output {
	case "text", "markdown", "json":
	default:
		errs = append(errs, fmt.Errorf("--output %q: want text, markdown or json", c.output))
	}
	switch c.logFormat {
	case "", "text", "json":
	default:
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.logFormat))
	}
	if c.parallel < 1 {
		errs = append(errs, fmt.Errorf("--parallel %d: want 1 or more", c.parallel))
	}
	if fi, err := os.Stat(c.repo); c.repo != "" && (err != nil || !fi.IsDir()) {
		errs = append(errs, fmt.Errorf("--repo %s: not a directory", c.repo))
	}
	return errors.Join(errs...)
}

// runSync is the main command: --dry-run or --once (the daemon comes next).
func runSync(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var c syncConfig
	fs := newFlagSet("actionsync", stderr)
	c.flags(fs)
	if err := parse(fs, args, osGetenv); err != nil {
		return exitError, err
	}
	env := readAuth0Env(osGetenv)
	if err := errors.Join(c.validate(), env.validate()); err != nil {
		return exitError, err
	}
	log := newLogger(stderr, c.logFormat)
	t, err := connect(ctx, env, c.secretKeyFile, log)
	if err != nil {
		return exitError, err
	}
	eng := sync.New(t.api, source.Dir(c.repo), sync.Options{
		DryRun: c.dryRun, Prune: c.prune, AllowEmpty: c.allowEmpty, SecretKey: t.secretKey,
		Parallel: c.parallel, Logger: log, Manifest: manifestOptions(t.builtin, log),
	})
	res, err := eng.Reconcile(ctx)
	if c.dryRun {
		return dryRunExit(res, err, c.output, stdout)
	}
	return onceExit(res, err, c.output, stdout)
}

// manifestOptions reads secrets from the environment; for the built-in
// tenant an unset one gets a placeholder, so the example runs anywhere.
func manifestOptions(builtin bool, log *slog.Logger) manifest.Options {
	if !builtin {
		return manifest.Options{}
	}
	return manifest.Options{Getenv: func(k string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		log.Warn("secret source unset: the built-in local tenant gets a placeholder value", "env", k)
		return "placeholder-for-" + k
	}}
}

func dryRunExit(res *sync.Result, err error, output string, w io.Writer) (int, error) {
	if err != nil {
		return exitError, err
	}
	if err := render(res.Plan, output, w); err != nil {
		return exitError, err
	}
	if res.Plan.Empty() {
		return exitOK, nil
	}
	return exitPending, nil
}

func render(p *diff.Plan, output string, w io.Writer) error {
	switch output {
	case "markdown":
		return p.Markdown(w, 0)
	case "json":
		return p.JSON(w)
	}
	return p.Text(w)
}

func onceExit(res *sync.Result, err error, output string, w io.Writer) (int, error) {
	if res == nil {
		return exitError, err
	}
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		enc.Encode(res)
	} else {
		writeSummary(w, res)
	}
	if err != nil {
		return exitError, err
	}
	return exitOK, nil
}

func writeSummary(w io.Writer, res *sync.Result) {
	if res.Plan.Empty() {
		fmt.Fprintf(w, "In sync at %s: nothing to do (%d reads).\n", res.Revision, res.Reads)
		return
	}
	var ok, failed []string
	for _, r := range res.Applied {
		line := fmt.Sprintf("%s %s", r.Kind, r.Subject)
		if r.Version > 0 {
			line += fmt.Sprintf(" (version %d)", r.Version)
		}
		if r.Error != "" {
			failed = append(failed, line+": "+r.Error)
		} else {
			ok = append(ok, line)
		}
	}
	fmt.Fprintf(w, "Applied %s: %d done, %d failed.\n", res.Revision, len(ok), len(failed))
	for _, l := range ok {
		fmt.Fprintln(w, "  ok     "+l)
	}
	for _, l := range failed {
		fmt.Fprintln(w, "  FAILED "+strings.ReplaceAll(l, "\n", " "))
	}
}
