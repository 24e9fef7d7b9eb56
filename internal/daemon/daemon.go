// Package daemon runs actionsync as a sidecar: it decides when to plan and
// apply (at start, on a new commit, on a webhook, on the drift timer, and
// after failures with backoff), and when to plan only (a drift report, a
// suspension), and serves /healthz, /readyz, /metrics and /webhook.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	gosync "sync"
	"time"

	"github.com/actionsync/actionsync/internal/backoff"
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
	Engine      Engine
	ReportDrift bool
	// Head, when set, returns the source's current commit cheaply; it is
	// polled every Interval and a new commit triggers a reconcile.
	Head     func(ctx context.Context) (string, error)
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
	Elect   func(ctx context.Context, lead func(ctx context.Context)) error
	Metrics *Metrics
	Logger  *slog.Logger
	Clock   Clock
}

// Daemon is a running sidecar.
type Daemon struct {
	cfg     Config
	log     *slog.Logger
	trigger chan string

	mu          gosync.Mutex
	suspended   bool
	lastOK      time.Time
	lastFailed  bool
	reconciled  bool
	lastApplied string
	leading     bool
	leader      string // the leader's identity, with Elect
	conflict    conflict
	addr        net.Addr
	ready       chan struct{} // closed once the server listens
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
	d := &Daemon{cfg: cfg, log: cfg.Logger, trigger: make(chan string, 1), ready: make(chan struct{})}
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
// and reconciles at once.
func (d *Daemon) Resume() {
	d.setSuspended(false)
	d.mu.Lock()
	d.conflict = conflict{}
	d.cfg.Metrics.conflict.Reset()
	d.mu.Unlock()
	d.log.Warn("resumed: applying again")
	d.Kick("resume")
}

// ToggleSuspend suspends a running daemon, or resumes one that is suspended
// or stopped by a conflict (SIGUSR1).
func (d *Daemon) ToggleSuspend() {
	d.mu.Lock()
	stopped := d.suspended || d.conflict.stopped
	d.mu.Unlock()
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

// Kick asks for a reconcile. Kicks that arrive during one coalesce into one
// more: the channel holds one and a send never blocks.
func (d *Daemon) Kick(reason string) {
	select {
	case d.trigger <- reason:
	default:
	}
}

// Run runs until ctx ends, and then returns nil once the current step has
// finished or been cancelled.
func (d *Daemon) Run(ctx context.Context) error {
	var wg gosync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if d.cfg.Listen != "" {
		srv, err := d.listen()
		if err != nil {
			return err
		}
		wg.Go(func() { d.serve(ctx, srv) })
	} else {
		close(d.ready)
	}
	if d.cfg.Head != nil {
		wg.Go(func() { d.pollHead(ctx) })
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

// lead runs the reconcile loop while ctx lasts: for a replica, while it is
// the leader.
func (d *Daemon) lead(ctx context.Context) {
	d.setLeading(true)
	defer d.setLeading(false)
	d.loop(ctx)
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

func (d *Daemon) loop(ctx context.Context) {
	d.Kick("start")
	var retry <-chan time.Time
	failures := 0
	drift := d.cfg.Clock.After(d.cfg.DriftInterval)
	for {
		reason, apply := "", true
		select {
		case <-ctx.Done():
			return
		case reason = <-d.trigger:
		case <-retry:
			reason = "retry"
		case <-drift:
			reason, apply = "drift", !d.cfg.ReportDrift
			drift = d.cfg.Clock.After(d.cfg.DriftInterval)
		}
		if d.reconcile(ctx, apply && !d.isSuspended(), reason) {
			if failures > 0 {
				d.log.Info("recovered", "after_failures", failures)
			}
			failures, retry = 0, nil
			continue
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		wait := backoff.Policy{Base: time.Second, Max: d.cfg.MaxBackoff}.Delay(failures - 1)
		d.log.Info("retrying after a failure", "in", wait.String(), "failures", failures)
		retry = d.cfg.Clock.After(wait)
	}
}

// reconcile plans, applies when apply is set, and records the outcome; it
// reports success.
func (d *Daemon) reconcile(ctx context.Context, apply bool, reason string) bool {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.ReconcileTimeout)
	defer cancel()
	start := d.cfg.Clock.Now()
	p, res, applied, err := d.run(ctx, apply)
	elapsed := d.cfg.Clock.Now().Sub(start)
	if errors.Is(err, context.Canceled) {
		return false // shutting down: not a failure worth a line
	}
	result := "success"
	if err != nil {
		result = "error"
	}
	d.cfg.Metrics.reconciles.WithLabelValues(result).Inc()
	d.cfg.Metrics.duration.WithLabelValues(result).Observe(elapsed.Seconds())
	d.record(p, res, err, applied)
	log := d.log.With("reason", reason, "duration", elapsed.String())
	if p != nil {
		log = log.With("commit", p.Revision)
	}
	switch {
	case err != nil:
		log.Error("reconcile failed", "err", err)
	case p.Changes.Empty():
		log.Debug("in sync")
	case !applied:
		log.Warn("out of sync; reporting only (--drift=report, suspended, or stopped by a conflict)", "steps", len(p.Changes.Steps), "summary", p.Changes.Summary())
	default:
		log.Info("applied", "steps", len(p.Changes.Steps))
	}
	return err == nil
}

// run plans and, when apply is set and no conflict with another writer
// stops it, applies; it reports whether it applied.
func (d *Daemon) run(ctx context.Context, apply bool) (*sync.Plan, *sync.Result, bool, error) {
	p, err := d.cfg.Engine.Plan(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	if d.checkConflict(p) || !apply {
		return p, nil, false, nil
	}
	res, err := d.cfg.Engine.Apply(ctx, p)
	if res != nil {
		d.mu.Lock()
		d.conflict.applied(p, res)
		d.mu.Unlock()
	}
	return p, res, true, err
}

// checkConflict looks for another writer undoing this daemon's writes and
// reports whether writing is stopped.
func (d *Daemon) checkConflict(p *sync.Plan) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	wasStopped := d.conflict.stopped
	undoneBy, stop := d.conflict.observe(p)
	if undoneBy != "" && !wasStopped {
		d.cfg.Metrics.undone.WithLabelValues(undoneBy).Inc()
		d.log.Warn("this daemon's writes were undone by another writer", "other_commit", undoneBy, "commit", p.Revision, "rounds", d.conflict.rounds)
	}
	switch {
	case stop && !wasStopped:
		d.log.Error("stopped writing", "err", d.conflict.String())
		d.cfg.Metrics.conflict.WithLabelValues(p.Revision, d.conflict.other).Set(1)
	case !stop && wasStopped:
		d.cfg.Metrics.conflict.Reset()
	}
	return stop
}

// record keeps the outcome for /readyz and the metrics: the steps left
// undone, and the commit last fully applied.
func (d *Daemon) record(p *sync.Plan, res *sync.Result, err error, applied bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reconciled = true
	d.lastFailed = err != nil
	switch {
	case res != nil && err != nil:
		d.cfg.Metrics.outOfSync.Set(float64(len(res.Failed())))
	case err != nil:
	case !applied:
		d.lastOK = d.cfg.Clock.Now()
		d.cfg.Metrics.outOfSync.Set(float64(len(p.Changes.Steps)))
	default:
		d.lastOK = d.cfg.Clock.Now()
		d.cfg.Metrics.outOfSync.Set(0)
		if !p.Changes.Empty() || d.lastApplied != p.Revision {
			d.lastApplied = p.Revision
			d.cfg.Metrics.applied(p.Revision, float64(d.lastOK.UnixNano())/1e9)
		}
	}
}

// pollHead asks the source for its commit every Interval and kicks a
// reconcile when it moved. A failed check is logged and counted, and
// retried at the next tick; it never stops the daemon.
func (d *Daemon) pollHead(ctx context.Context) {
	last := ""
	for {
		head, err := d.cfg.Head(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			d.cfg.Metrics.sourceErrors.Inc()
			d.log.Warn("check the remote", "err", err)
		case head != last:
			if last != "" {
				d.log.Info("new commit", "commit", head, "previous", last)
				d.Kick("commit " + head)
			}
			last = head
		}
		select {
		case <-ctx.Done():
			return
		case <-d.cfg.Clock.After(d.cfg.Interval):
		}
	}
}

// Ready reports whether the last reconcile succeeded recently enough.
func (d *Daemon) Ready() (bool, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	stale := 3 * max(d.cfg.DriftInterval, d.cfg.Interval)
	switch {
	case d.cfg.Elect != nil && !d.leading:
		return true, "standby: the leader is " + orNone(d.leader)
	case d.conflict.stopped:
		return false, d.conflict.String()
	case !d.reconciled:
		return false, "no reconcile has finished yet"
	case d.lastFailed:
		return false, "the last reconcile failed"
	case d.lastOK.IsZero():
		return false, "no reconcile has succeeded yet"
	case d.cfg.Clock.Now().Sub(d.lastOK) > stale:
		return false, fmt.Sprintf("the last success is older than %v", stale)
	}
	return true, "last success " + d.lastOK.UTC().Format(time.RFC3339)
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
