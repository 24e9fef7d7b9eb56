package cli

import (
	"context"
	"flag"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"encoding/json"
	"errors"
	"fmt"
	"github.com/actionsync/actionsync/internal/daemon"
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
	branch        string
	path          string
	interval      time.Duration
	driftInterval time.Duration
	drift         string
	listen        string
	webhookSecret string
	tokenFile     string
	gitUsername   string
	sshKeyFile    string
	knownHosts    string
	timeout       time.Duration
	suspend       bool
	dryRun        bool
	once          bool
	output        string
	prune         bool
	allowEmpty    bool
	logFormat     string
	secretKeyFile string
	parallel      int
}

func (c *syncConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.repo, "repo", "", "the repo to sync: a local path, or a Git URL (https://, ssh://, git@host:path, file://)")
	fs.StringVar(&c.branch, "branch", "main", "the branch of a Git URL to follow")
	fs.StringVar(&c.path, "path", "", "the subfolder of the repo that holds actions/ and triggers.yaml")
	fs.DurationVar(&c.interval, "interval", 30*time.Second, "daemon: how often to check the Git remote for a new commit")
	fs.DurationVar(&c.driftInterval, "drift-interval", 5*time.Minute, "daemon: how often to compare with the tenant to heal drift")
	fs.StringVar(&c.drift, "drift", "heal", "daemon: heal (re-apply the commit) or report (plan and report only) on the drift timer")
	fs.StringVar(&c.listen, "listen", ":8080", "daemon: address for /healthz, /readyz, /metrics and /webhook")
	fs.StringVar(&c.webhookSecret, "webhook-secret-file", "", "daemon: file holding the secret of GitHub's X-Hub-Signature-256 (unset: /webhook answers 404)")
	fs.StringVar(&c.tokenFile, "git-token-file", "", "file holding an HTTPS token for the Git remote (re-read on every fetch)")
	fs.StringVar(&c.gitUsername, "git-username", "", "username that goes with --git-token-file (default x-access-token)")
	fs.StringVar(&c.sshKeyFile, "ssh-key-file", "", "file holding an SSH private key for the Git remote")
	fs.StringVar(&c.knownHosts, "known-hosts-file", "", "known_hosts file pinning the SSH server's key (required with --ssh-key-file)")
	fs.DurationVar(&c.timeout, "reconcile-timeout", 10*time.Minute, "bound on one reconcile")
	fs.BoolVar(&c.suspend, "suspend", false, "daemon: start suspended: plan and report, write nothing (SIGUSR1 toggles)")
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
	if c.drift != "heal" && c.drift != "report" {
		errs = append(errs, fmt.Errorf("--drift %q: want heal or report", c.drift))
	}
	if c.interval <= 0 || c.driftInterval <= 0 || c.timeout <= 0 {
		errs = append(errs, errors.New("--interval, --drift-interval and --reconcile-timeout must be positive"))
	}
	if c.sshKeyFile != "" && c.knownHosts == "" {
		errs = append(errs, errors.New("--ssh-key-file needs --known-hosts-file: the server's key must be pinned"))
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
	if fi, err := os.Stat(c.repo); c.repo != "" && !isURL(c.repo) && (err != nil || !fi.IsDir()) {
		errs = append(errs, fmt.Errorf("--repo %s: not a directory, nor a Git URL", c.repo))
	}
	return errors.Join(errs...)
}

// isURL tells a Git URL from a local path.
func isURL(repo string) bool {
	return strings.Contains(repo, "://") || strings.HasPrefix(repo, "git@")
}

// source is the commit source --repo names.
func (c *syncConfig) source() sync.Source {
	if isURL(c.repo) {
		return &source.Remote{URL: c.repo, Branch: c.branch, Sub: c.path, Auth: source.Auth{
			TokenFile: c.tokenFile, Username: c.gitUsername, SSHKeyFile: c.sshKeyFile, KnownHostsFile: c.knownHosts,
		}}
	}
	return source.Dir(filepath.Join(c.repo, c.path))
}

// runSync is the main command: --dry-run, --once, or the daemon.
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
	metrics := daemon.NewMetrics()
	t, err := connect(ctx, env, c.secretKeyFile, metrics.ObserveRequest, log)
	if err != nil {
		return exitError, err
	}
	src := c.source()
	opts := sync.Options{
		DryRun: c.dryRun, Prune: c.prune, AllowEmpty: c.allowEmpty, SecretKey: t.secretKey,
		Parallel: c.parallel, Logger: log, Manifest: manifestOptions(t.builtin, log),
	}
	if !c.dryRun && !c.once {
		return exitOK, runDaemon(ctx, &c, t, src, opts, metrics, log)
	}
	res, err := sync.New(t.api, src, opts).Reconcile(ctx)
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

// runDaemon runs the sidecar until ctx ends (SIGTERM, SIGINT).
func runDaemon(ctx context.Context, c *syncConfig, t *tenant, src sync.Source, opts sync.Options, m *daemon.Metrics, log *slog.Logger) error {
	cfg := daemon.Config{
		Apply: sync.New(t.api, src, opts), Interval: c.interval, DriftInterval: c.driftInterval,
		ReconcileTimeout: c.timeout, Listen: c.listen, WebhookSecretFile: c.webhookSecret, Metrics: m, Logger: log,
	}
	report := opts
	report.DryRun = true
	cfg.Report, cfg.ReportDrift, cfg.Suspended = sync.New(t.api, src, report), c.drift == "report", c.suspend
	switch s := src.(type) {
	case *source.Remote:
		cfg.Head = s.Head
	case source.Dir:
		cfg.Watch = string(s)
	}
	log.Info("daemon starting", "repo", c.repo, "branch", c.branch, "interval", c.interval.String(), "drift_interval", c.driftInterval.String(), "drift", c.drift)
	d := daemon.New(cfg)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-usr1:
				d.ToggleSuspend()
			}
		}
	}()
	return d.Run(ctx)
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
