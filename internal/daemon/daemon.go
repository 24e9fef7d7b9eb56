// Package daemon runs actionsync as a sidecar: it decides when to plan and
// apply (at start, on a new commit, on a webhook, on the drift timer, and
// after failures with backoff), and when to plan only (a drift report, a
// suspension), and serves /healthz, /readyz, /metrics and /webhook.
package daemon

import (
	"context"
	"log/slog"
	"net"
	"strings"
	gosync "sync"
	"time"

	"github.com/actionsync/actionsync/internal/sync"
)

// Engine is what the daemon drives: Plan reads and writes nothing; Apply
// makes a plan's changes. sync.Engine fits.
type Engine interface {
	Plan(ctx context.Context) (*sync.Plan, error)
	Apply(ctx context.Context, p *sync.Plan) (*sync.Result, error)
}

var _ Engine = (*sync.Engine)(nil)

// Clock is the daemon's time, injectable for tests.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config configures a Daemon.
type Config struct {
	// Engine plans and applies. A reconcile plans, then applies unless the
	// drift timer fired with ReportDrift set (--drift=report), or the
	// daemon is suspended.
	Engine Engine
	// Environments, when set, replace Engine: the daemon syncs each one
	// (actionsync.yaml's environments) with its own loop, drift timer,
	// backoff and metrics, so one tenant's outage never delays another's.
	Environments []Environment
	ReportDrift  bool
	// Head, when set, returns the source's current commit cheaply; it is
	// polled every Interval and a new commit triggers a reconcile.
	Head func(ctx context.Context) (string, error)
	// Heads, with Environments, returns each environment's current commit
	// by name, in one cheap check (one ls-remote serves every branch); it
	// is polled every Interval and an environment whose commit moved is
	// reconciled.
	Heads    func(ctx context.Context) (map[string]string, error)
	Interval time.Duration
	// Watch, when set, is a local directory whose changes trigger a reconcile.
	Watch string
	// DriftInterval is the time between reconciles that heal (or report)
	// changes made in the dashboard.
	DriftInterval time.Duration
	// ReconcileTimeout bounds one reconcile; 0 means 10 minutes.
	ReconcileTimeout time.Duration
	// MaxBackoff caps the wait before retrying a failed reconcile; 0 means
	// 5 minutes. The first wait is a second.
	MaxBackoff time.Duration
	// Listen is the address of the HTTP server; "" serves none.
	Listen string
	// ProbeListen, when set, serves /healthz, /readyz and /metrics on a
	// listener of their own too, with connections of their own: clients
	// of Listen (webhooks from anywhere) holding all its connections do
	// not delay the kubelet's probes.
	ProbeListen string
	// HTTP bounds the server's clients: timeouts, connections, and the
	// batching of bad-signature logs.
	HTTP HTTPLimits
	// WebhookSecretFile holds the secret of GitHub's X-Hub-Signature-256.
	// Unset, /webhook answers 404.
	WebhookSecretFile string
	// Suspended starts the daemon suspended (--suspend): it plans and
	// reports, and writes nothing, until Resume.
	Suspended bool
	// Elect, when set, runs lead only while this replica is the leader
	// (leader.Run for --leader-elect), and again each time it becomes the
	// leader; lead's context ends when it stops being the leader. The HTTP
	// server runs on every replica. Nil means this daemon always leads.
	// One Lease covers every environment.
	Elect   func(ctx context.Context, lead func(ctx context.Context)) error
	Metrics *Metrics
	Logger  *slog.Logger
	Clock   Clock
}

// Environment is one engine of a daemon that syncs several.
type Environment struct {
	// Name labels the environment's metrics (env), logs and /readyz line.
	Name   string
	Engine Engine
	// Ref is the branch the environment follows: a webhook push to
	// refs/heads/<Ref> reconciles it. "" takes every push.
	Ref string
}

// Daemon is a running sidecar.
type Daemon struct {
	cfg  Config
	log  *slog.Logger
	envs []*env

	mu        gosync.Mutex
	suspended bool
	leading   bool
	leader    string // the leader's identity, with Elect
	addr      net.Addr
	probeAddr net.Addr
	ready     chan struct{} // closed once the servers listen
}

// New returns a daemon for cfg.
func New(cfg Config) *Daemon {
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.ReconcileTimeout <= 0 {
		cfg.ReconcileTimeout = 10 * time.Minute
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	d := &Daemon{cfg: cfg, log: cfg.Logger, ready: make(chan struct{})}
	envs := cfg.Environments
	if len(envs) == 0 {
		envs = []Environment{{Engine: cfg.Engine}}
	}
	for _, e := range envs {
		d.envs = append(d.envs, newEnv(d, e))
	}
	d.setSuspended(cfg.Suspended)
	return d
}

// Suspend stops all writes (a break-glass pause, say for a manual rollback in
// the dashboard): reconciles go on, planning and reporting only.
func (d *Daemon) Suspend() {
	d.setSuspended(true)
	d.log.Warn("suspended: planning and reporting only, writing nothing")
}

// Resume ends a suspension, or a stop for a conflict with another writer,
// in every environment, and reconciles at once.
func (d *Daemon) Resume() {
	d.setSuspended(false)
	for _, e := range d.envs {
		e.clearConflict()
	}
	d.log.Warn("resumed: applying again")
	d.Kick("resume")
}

// ToggleSuspend suspends a running daemon, or resumes one that is suspended
// or stopped by a conflict in any environment (SIGUSR1).
func (d *Daemon) ToggleSuspend() {
	stopped := d.isSuspended()
	for _, e := range d.envs {
		stopped = stopped || e.conflictStopped()
	}
	if stopped {
		d.Resume()
	} else {
		d.Suspend()
	}
}

func (d *Daemon) setSuspended(v bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.suspended = v
	d.cfg.Metrics.suspended.Set(map[bool]float64{false: 0, true: 1}[v])
}

func (d *Daemon) isSuspended() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.suspended
}

// Kick asks every environment for a reconcile. Kicks that arrive during
// one coalesce into one more: each environment's channel holds one and a
// send never blocks.
func (d *Daemon) Kick(reason string) {
	for _, e := range d.envs {
		e.kick(reason)
	}
}

// Run runs until ctx ends, and then returns nil once the current step has
// finished or been cancelled.
func (d *Daemon) Run(ctx context.Context) error {
	var wg gosync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srvs, err := d.listen()
	if err != nil {
		return err
	}
	for _, srv := range srvs {
		wg.Go(func() { d.serve(ctx, srv) })
	}
	if heads := d.heads(); heads != nil {
		wg.Go(func() { d.pollHeads(ctx, heads) })
	}
	if d.cfg.Watch != "" {
		w, err := newWatcher(d.cfg.Watch, d.log)
		if err != nil {
			return err
		}
		wg.Go(func() { w.run(ctx, d.Kick) })
	}
	if d.cfg.Elect == nil {
		d.lead(ctx)
		return nil
	}
	return d.cfg.Elect(ctx, d.lead)
}

// lead runs every environment's reconcile loop while ctx lasts: for a
// replica, while it is the leader.
func (d *Daemon) lead(ctx context.Context) {
	d.setLeading(true)
	defer d.setLeading(false)
	var wg gosync.WaitGroup
	for _, e := range d.envs {
		wg.Go(func() { e.loop(ctx) })
	}
	wg.Wait()
}

func (d *Daemon) setLeading(v bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.leading = v
	d.cfg.Metrics.leader.Set(map[bool]float64{false: 0, true: 1}[v])
}

// SetLeader records the identity of the leader a replica observed.
func (d *Daemon) SetLeader(identity string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.leader = identity
}

// heads is what pollHeads asks: Heads, or Head as the one environment's.
func (d *Daemon) heads() func(ctx context.Context) (map[string]string, error) {
	switch {
	case d.cfg.Heads != nil:
		return d.cfg.Heads
	case d.cfg.Head != nil && len(d.cfg.Environments) == 0:
		return func(ctx context.Context) (map[string]string, error) {
			h, err := d.cfg.Head(ctx)
			return map[string]string{"": h}, err
		}
	}
	return nil
}

// pollHeads asks the source for each environment's commit every Interval
// and kicks a reconcile of each one that moved. A failed check is logged
// and counted, and retried at the next tick; it never stops the daemon.
func (d *Daemon) pollHeads(ctx context.Context, heads func(ctx context.Context) (map[string]string, error)) {
	last := map[string]string{}
	for {
		now, err := heads(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			d.cfg.Metrics.sourceErrors.Inc()
			d.log.Warn("check the remote", "err", err)
		default:
			d.moved(last, now)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.cfg.Clock.After(d.cfg.Interval):
		}
	}
}

// moved kicks each environment whose commit differs from the one last
// seen, and remembers the new ones.
func (d *Daemon) moved(last, now map[string]string) {
	for _, e := range d.envs {
		head, ok := now[e.name]
		if !ok || head == last[e.name] {
			continue
		}
		if prev := last[e.name]; prev != "" {
			e.log.Info("new commit", "commit", head, "previous", prev)
			e.kick("commit " + head)
		}
		last[e.name] = head
	}
}

// Ready reports whether every environment's last reconcile succeeded
// recently enough, and why not, one line per environment.
func (d *Daemon) Ready() (bool, string) {
	d.mu.Lock()
	standby := d.cfg.Elect != nil && !d.leading
	leader := d.leader
	d.mu.Unlock()
	if standby {
		return true, "standby: the leader is " + orNone(leader)
	}
	if len(d.cfg.Environments) == 0 {
		return d.envs[0].ready()
	}
	all, lines := true, make([]string, len(d.envs))
	for i, e := range d.envs {
		ok, why := e.ready()
		all = all && ok
		lines[i] = e.name + ": " + map[bool]string{true: "ready, ", false: "not ready, "}[ok] + why
	}
	return all, strings.Join(lines, "\n")
}

// ReadyEnv reports one environment's readiness; ok is false, with found
// false, for a name the daemon does not sync.
func (d *Daemon) ReadyEnv(name string) (ok bool, why string, found bool) {
	d.mu.Lock()
	standby := d.cfg.Elect != nil && !d.leading
	d.mu.Unlock()
	for _, e := range d.envs {
		if e.name == name && standby {
			return true, "standby", true
		}
		if e.name == name && len(d.cfg.Environments) > 0 {
			ok, why = e.ready()
			return ok, why, true
		}
	}
	return false, "", false
}

func orNone(s string) string {
	if s == "" {
		return "not known yet"
	}
	return s
}

// Addr is the address the HTTP server listens on, once it does.
func (d *Daemon) Addr() net.Addr {
	<-d.ready
	return d.addr
}

// ProbeAddr is the address of the probes' own listener (ProbeListen),
// once it listens; nil without one.
func (d *Daemon) ProbeAddr() net.Addr {
	<-d.ready
	return d.probeAddr
}
