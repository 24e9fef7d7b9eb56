// Package daemon runs actionsync as a sidecar: it decides when to call the
// engine's Reconcile (at start, on a new commit, on a webhook, on the drift
// timer, and after failures with backoff) and serves /healthz, /readyz,
// /metrics and /webhook.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	gosync "sync"
	"time"

	"github.com/actionsync/actionsync/internal/sync"
)

// Reconciler is what the daemon drives: sync.Engine fits.
type Reconciler interface {
	Reconcile(ctx context.Context) (*sync.Result, error)
}

var _ Reconciler = (*sync.Engine)(nil)

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
	// Apply reconciles and applies; Report plans only. The drift timer uses
	// Report when ReportDrift is set (--drift=report), and every reconcile
	// uses it while the daemon is suspended.
	Apply, Report Reconciler
	ReportDrift   bool
	// Suspended starts the daemon suspended (--suspend): it plans and
	// reports, and writes nothing, until Resume.
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
	// WebhookSecretFile holds the secret of GitHub's X-Hub-Signature-256.
	// Unset, /webhook answers 404.
	WebhookSecretFile string
	Suspended         bool
	Metrics           *Metrics
	Logger            *slog.Logger
	Clock             Clock
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

// Resume ends a suspension and reconciles at once.
func (d *Daemon) Resume() {
	d.setSuspended(false)
	d.log.Warn("resumed: applying again")
	d.Kick("resume")
}

// ToggleSuspend suspends a running daemon, or resumes a suspended one
// (SIGUSR1).
func (d *Daemon) ToggleSuspend() {
	if d.isSuspended() {
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
	d.loop(ctx)
	return nil
}

func (d *Daemon) loop(ctx context.Context) {
	d.Kick("start")
	var retry <-chan time.Time
	failures := 0
	drift := d.cfg.Clock.After(d.cfg.DriftInterval)
	for {
		reason, rec := "", d.cfg.Apply
		select {
		case <-ctx.Done():
			return
		case reason = <-d.trigger:
		case <-retry:
			reason = "retry"
		case <-drift:
			reason = "drift"
			drift = d.cfg.Clock.After(d.cfg.DriftInterval)
			if d.cfg.ReportDrift && d.cfg.Report != nil {
				rec = d.cfg.Report
			}
		}
		if d.isSuspended() && d.cfg.Report != nil {
			rec = d.cfg.Report
		}
		if d.reconcile(ctx, rec, reason) {
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
		wait := backoff(failures, d.cfg.MaxBackoff)
		d.log.Info("retrying after a failure", "in", wait.String(), "failures", failures)
		retry = d.cfg.Clock.After(wait)
	}
}

// backoff is 1s, 2s, 4s ... capped at max, with jitter of up to half.
func backoff(failures int, max time.Duration) time.Duration {
	d := time.Second << min(failures-1, 20)
	if d > max || d <= 0 {
		d = max
	}
	return d/2 + rand.N(d/2+1)
}

// reconcile runs one reconcile and records it; it reports success.
func (d *Daemon) reconcile(ctx context.Context, rec Reconciler, reason string) bool {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.ReconcileTimeout)
	defer cancel()
	start := d.cfg.Clock.Now()
	res, err := rec.Reconcile(ctx)
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
	d.record(res, err, rec != d.cfg.Apply)
	log := d.log.With("reason", reason, "duration", elapsed.String())
	if res != nil {
		log = log.With("commit", res.Revision)
	}
	switch {
	case err != nil:
		log.Error("reconcile failed", "err", err)
	case res.Plan.Empty():
		log.Debug("in sync")
	case rec != d.cfg.Apply:
		log.Warn("out of sync; reporting only (--drift=report or suspended)", "steps", len(res.Plan.Steps), "summary", res.Plan.Summary())
	default:
		log.Info("applied", "steps", len(res.Plan.Steps))
	}
	return err == nil
}

func (d *Daemon) record(res *sync.Result, err error, reportOnly bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reconciled = true
	d.lastFailed = err != nil
	if err != nil {
		if res != nil {
			d.cfg.Metrics.outOfSync.Set(float64(countFailed(res)))
		}
		return
	}
	d.lastOK = d.cfg.Clock.Now()
	if reportOnly {
		d.cfg.Metrics.outOfSync.Set(float64(len(res.Plan.Steps)))
		return
	}
	d.cfg.Metrics.outOfSync.Set(0)
	if !res.Plan.Empty() || d.lastApplied != res.Revision {
		d.lastApplied = res.Revision
		d.cfg.Metrics.applied(res.Revision, float64(d.lastOK.UnixNano())/1e9)
	}
}

func countFailed(res *sync.Result) int {
	if len(res.Applied) == 0 {
		return len(res.Plan.Steps)
	}
	n := 0
	for _, r := range res.Applied {
		if r.Error != "" {
			n++
		}
	}
	return n
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

// Addr is the address the HTTP server listens on, once it does.
func (d *Daemon) Addr() net.Addr {
	<-d.ready
	return d.addr
}
