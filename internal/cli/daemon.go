package cli

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/actionsync/actionsync/internal/daemon"
	"github.com/actionsync/actionsync/internal/leader"
	"github.com/actionsync/actionsync/internal/source"
	"github.com/actionsync/actionsync/internal/sync"
	"k8s.io/client-go/rest"
)

// daemonFlags configure the sidecar.
type daemonFlags struct {
	interval, driftInterval, timeout time.Duration
	drift, listen, probeListen       string
	webhookSecret                    string
	suspend                          bool
	elect                            bool
	electNamespace, electName        string
	kube                             *rest.Config // with elect, once validated
}

func (c *daemonFlags) bind(fs *flag.FlagSet) {
	fs.DurationVar(&c.interval, "interval", 30*time.Second, "daemon: how often to check the Git remote for a new commit")
	fs.DurationVar(&c.driftInterval, "drift-interval", 5*time.Minute, "daemon: how often to compare with the tenant to heal drift")
	fs.StringVar(&c.drift, "drift", "heal", "daemon: heal (re-apply the commit) or report (plan and report only) on the drift timer")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "daemon: address for /healthz, /readyz, /metrics and /webhook; :8080 serves every interface")
	fs.StringVar(&c.probeListen, "probe-listen", "", "daemon: also serve /healthz, /readyz and /metrics on this address, with connections of their own (unset: only on --listen)")
	fs.StringVar(&c.webhookSecret, "webhook-secret-file", "", "daemon: file holding the secret of GitHub's X-Hub-Signature-256 (unset: /webhook answers 404)")
	fs.DurationVar(&c.timeout, "reconcile-timeout", 10*time.Minute, "bound on one reconcile")
	fs.BoolVar(&c.suspend, "suspend", false, "daemon: start suspended: plan and report, write nothing (SIGUSR1 toggles)")
	fs.BoolVar(&c.elect, "leader-elect", false, "daemon: run replicas with one writer, the holder of a Kubernetes Lease (in a pod, or with $KUBECONFIG)")
	fs.StringVar(&c.electNamespace, "leader-elect-namespace", "", "daemon: the Lease's namespace (default: the pod's)")
	fs.StringVar(&c.electName, "leader-elect-name", "actionsync", "daemon: the Lease's name; one per tenant")
}

func (c *daemonFlags) validate() error {
	err := oneOf("drift", c.drift, "heal", "report")
	if c.interval <= 0 || c.driftInterval <= 0 || c.timeout <= 0 {
		err = errors.Join(err, errors.New("--interval, --drift-interval and --reconcile-timeout must be positive"))
	}
	if c.elect {
		err = errors.Join(err, c.validateElection())
	}
	return err
}

// validateElection finds the Kubernetes API and the Lease's namespace.
func (c *daemonFlags) validateElection() error {
	kube, podNamespace, err := leader.RESTConfig()
	if err != nil {
		return err
	}
	if c.electNamespace == "" {
		c.electNamespace = podNamespace
	}
	if c.electNamespace == "" {
		return errors.New("--leader-elect outside a pod needs --leader-elect-namespace")
	}
	c.kube = kube
	return nil
}

// runDaemon runs the sidecar until ctx ends (SIGTERM, SIGINT); SIGUSR1
// suspends or resumes it. cfg holds what it syncs (an Engine, or
// Environments and Heads); src, when it is the one engine's, is watched.
func runDaemon(ctx context.Context, c *syncCommand, cfg daemon.Config, src sync.Source, m *daemon.Metrics, log *slog.Logger) error {
	var d *daemon.Daemon
	cfg.ReportDrift, cfg.Suspended = c.daemon.drift == "report", c.daemon.suspend
	cfg.Interval, cfg.DriftInterval, cfg.ReconcileTimeout = c.daemon.interval, c.daemon.driftInterval, c.daemon.timeout
	cfg.Listen, cfg.ProbeListen, cfg.WebhookSecretFile = c.daemon.listen, c.daemon.probeListen, c.daemon.webhookSecret
	cfg.Metrics, cfg.Logger = m, log
	switch s := src.(type) {
	case *source.Remote:
		cfg.Head = s.Head
	case source.Worktree:
		cfg.Watch = string(s)
	}
	if c.daemon.elect {
		cfg.Elect = c.daemon.elector(func(id string) { d.SetLeader(id) }, log)
	}
	log.Info("daemon starting", "repo", c.repo.repo, "branch", c.repo.branch, "env", c.envName, "interval", c.daemon.interval.String(),
		"drift_interval", c.daemon.driftInterval.String(), "drift", c.daemon.drift, "leader_elect", c.daemon.elect)
	d = daemon.New(cfg)
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

// runEnvironments runs the sidecar over environments: one engine each, each
// with its own tenant connection (and so its own rate limit), and one
// listing of the remote's branches a check for all of them.
func runEnvironments(ctx context.Context, c *syncCommand, targets []target, m *daemon.Metrics, log *slog.Logger) error {
	var cfg daemon.Config
	for _, t := range targets {
		eng, err := c.newEngine(ctx, t, m.Observer(t.name), log)
		if err != nil {
			return err
		}
		cfg.Environments = append(cfg.Environments, daemon.Environment{Name: t.name, Engine: eng, Ref: t.ref})
	}
	lister := c.repo.source().(*source.Remote)
	cfg.Heads = func(ctx context.Context) (map[string]string, error) {
		branches, err := lister.Branches(ctx)
		out := map[string]string{}
		for _, t := range targets {
			if h, ok := branches[t.ref]; ok {
				out[t.name] = h
			}
		}
		return out, err
	}
	return runDaemon(ctx, c, cfg, nil, m, log)
}

// elector is --leader-elect's daemon.Config.Elect: leader.Run on the Lease
// the flags name.
func (c *daemonFlags) elector(onNewLeader func(string), log *slog.Logger) func(context.Context, func(context.Context)) error {
	cfg := leader.Config{REST: c.kube, Namespace: c.electNamespace, Name: c.electName, OnNewLeader: onNewLeader, Logger: log}
	return func(ctx context.Context, lead func(context.Context)) error { return leader.Run(ctx, cfg, lead) }
}
