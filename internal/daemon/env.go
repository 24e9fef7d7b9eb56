package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/actionsync/actionsync/internal/backoff"
	"github.com/actionsync/actionsync/internal/sync"
)

// env is one engine's loop and what it last did: its own trigger, drift
// timer, backoff, readiness and metrics, so that environments never wait
// on each other.
type env struct {
	d       *Daemon
	name    string
	ref     string
	engine  Engine
	log     *slog.Logger
	m       *envMetrics
	trigger chan string

	mu          gosync.Mutex
	lastOK      time.Time
	lastFailed  bool
	reconciled  bool
	lastApplied string
	conflict    conflict
}

func newEnv(d *Daemon, e Environment) *env {
	log := d.log
	if e.Name != "" {
		log = log.With("environment", e.Name)
	}
	return &env{d: d, name: e.Name, ref: e.Ref, engine: e.Engine, log: log, m: d.cfg.Metrics.env(e.Name), trigger: make(chan string, 1)}
}

// kick asks for a reconcile; kicks during one coalesce into one more.
func (e *env) kick(reason string) {
	select {
	case e.trigger <- reason:
	default:
	}
}

func (e *env) loop(ctx context.Context) {
	cfg := &e.d.cfg
	e.kick("start")
	var retry <-chan time.Time
	failures := 0
	drift := cfg.Clock.After(cfg.DriftInterval)
	for {
		reason, apply := "", true
		select {
		case <-ctx.Done():
			return
		case reason = <-e.trigger:
		case <-retry:
			reason = "retry"
		case <-drift:
			reason, apply = "drift", !cfg.ReportDrift
			drift = cfg.Clock.After(cfg.DriftInterval)
		}
		if e.reconcile(ctx, apply && !e.d.isSuspended(), reason) {
			if failures > 0 {
				e.log.Info("recovered", "after_failures", failures)
			}
			failures, retry = 0, nil
			continue
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		wait := backoff.Policy{Base: time.Second, Max: cfg.MaxBackoff}.Delay(failures - 1)
		e.log.Info("retrying after a failure", "in", wait.String(), "failures", failures)
		retry = cfg.Clock.After(wait)
	}
}

// reconcile plans, applies when apply is set, and records the outcome; it
// reports success.
func (e *env) reconcile(ctx context.Context, apply bool, reason string) bool {
	clock := e.d.cfg.Clock
	ctx, cancel := context.WithTimeout(ctx, e.d.cfg.ReconcileTimeout)
	defer cancel()
	start := clock.Now()
	p, res, applied, err := e.run(ctx, apply)
	elapsed := clock.Now().Sub(start)
	if errors.Is(err, context.Canceled) {
		return false // shutting down: not a failure worth a line
	}
	result := "success"
	if err != nil {
		result = "error"
	}
	e.m.reconciles.WithLabelValues(result).Inc()
	e.m.duration.WithLabelValues(result).Observe(elapsed.Seconds())
	e.record(p, res, err, applied)
	log := e.log.With("reason", reason, "duration", elapsed.String())
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
func (e *env) run(ctx context.Context, apply bool) (*sync.Plan, *sync.Result, bool, error) {
	p, err := e.engine.Plan(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	if e.checkConflict(p) || !apply {
		return p, nil, false, nil
	}
	res, err := e.engine.Apply(ctx, p)
	if res != nil {
		e.mu.Lock()
		e.conflict.applied(p, res)
		e.mu.Unlock()
	}
	return p, res, true, err
}

// checkConflict looks for another writer undoing this environment's
// writes and reports whether writing is stopped.
func (e *env) checkConflict(p *sync.Plan) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	wasStopped := e.conflict.stopped
	undoneBy, stop := e.conflict.observe(p)
	if undoneBy != "" && !wasStopped {
		e.m.undone.WithLabelValues(undoneBy).Inc()
		e.log.Warn("this daemon's writes were undone by another writer", "other_commit", undoneBy, "commit", p.Revision, "rounds", e.conflict.rounds)
	}
	switch {
	case stop && !wasStopped:
		e.log.Error("stopped writing", "err", e.conflict.String())
		e.m.conflict.WithLabelValues(p.Revision, e.conflict.other).Set(1)
	case !stop && wasStopped:
		e.m.conflict.Reset()
	}
	return stop
}

func (e *env) clearConflict() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.conflict = conflict{}
	e.m.conflict.Reset()
}

func (e *env) conflictStopped() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.conflict.stopped
}

// record keeps the outcome for /readyz and the metrics: the steps left
// undone, and the commit last fully applied.
func (e *env) record(p *sync.Plan, res *sync.Result, err error, applied bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reconciled = true
	e.lastFailed = err != nil
	switch {
	case res != nil && err != nil:
		e.m.outOfSync.Set(float64(len(res.Failed())))
	case err != nil:
	case !applied:
		e.lastOK = e.d.cfg.Clock.Now()
		e.m.outOfSync.Set(float64(len(p.Changes.Steps)))
	default:
		e.lastOK = e.d.cfg.Clock.Now()
		e.m.outOfSync.Set(0)
		if !p.Changes.Empty() || e.lastApplied != p.Revision {
			e.lastApplied = p.Revision
			e.m.applied(p.Revision, float64(e.lastOK.UnixNano())/1e9)
		}
	}
}

// ready reports whether the last reconcile succeeded recently enough.
func (e *env) ready() (bool, string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cfg := &e.d.cfg
	stale := 3 * max(cfg.DriftInterval, cfg.Interval)
	switch {
	case e.conflict.stopped:
		return false, e.conflict.String()
	case !e.reconciled:
		return false, "no reconcile has finished yet"
	case e.lastFailed:
		return false, "the last reconcile failed"
	case e.lastOK.IsZero():
		return false, "no reconcile has succeeded yet"
	case cfg.Clock.Now().Sub(e.lastOK) > stale:
		return false, fmt.Sprintf("the last success is older than %v", stale)
	}
	return true, "last success " + e.lastOK.UTC().Format(time.RFC3339)
}
