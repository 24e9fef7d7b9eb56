package daemon

import (
	"net/http"
	"strconv"
	gosync "sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the daemon's Prometheus metrics, on a registry of their own:
// the process's (suspended, leader, source errors), and each environment's,
// labelled env="NAME" (no env label for a daemon of one engine).
type Metrics struct {
	reg          *prometheus.Registry
	sourceErrors prometheus.Counter
	suspended    prometheus.Gauge
	leader       prometheus.Gauge

	mu   gosync.Mutex
	envs map[string]*envMetrics
}

// envMetrics are one environment's metrics.
type envMetrics struct {
	reconciles  *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	requests    *prometheus.CounterVec
	outOfSync   prometheus.Gauge
	lastApplied prometheus.Gauge
	appliedInfo *prometheus.GaugeVec
	undone      *prometheus.CounterVec
	conflict    *prometheus.GaugeVec
}

// NewMetrics registers the process's actionsync_* metrics; each
// environment's are registered when first used.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		sourceErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "actionsync_source_errors_total", Help: "Failed checks of the Git remote or the repo.",
		}),
		suspended: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "actionsync_suspended", Help: "1 while the daemon is suspended (writes nothing), else 0.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "actionsync_leader", Help: "1 while this replica leads (always, without --leader-elect), else 0.",
		}),
		envs: map[string]*envMetrics{},
	}
	m.reg.MustRegister(m.sourceErrors, m.suspended, m.leader,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// env returns the metrics of the environment name ("" for a daemon of one
// engine: no env label), registering them the first time.
func (m *Metrics) env(name string) *envMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.envs[name]; ok {
		return e
	}
	var labels prometheus.Labels
	if name != "" {
		labels = prometheus.Labels{"env": name}
	}
	e := newEnvMetrics(labels)
	m.reg.MustRegister(e.reconciles, e.duration, e.requests, e.outOfSync, e.lastApplied, e.appliedInfo, e.undone, e.conflict)
	m.envs[name] = e
	return e
}

func newEnvMetrics(labels prometheus.Labels) *envMetrics {
	return &envMetrics{
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actionsync_reconcile_total", Help: "Reconciles, by result (success, error).", ConstLabels: labels,
		}, []string{"result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "actionsync_reconcile_duration_seconds", Help: "Time a reconcile took, by result.", ConstLabels: labels,
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actionsync_auth0_requests_total", Help: "Management API requests, by route and status code (0: no answer).", ConstLabels: labels,
		}, []string{"route", "code"}),
		outOfSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "actionsync_out_of_sync_actions", Help: "Actions and triggers the last reconcile found out of sync and left so.", ConstLabels: labels,
		}),
		lastApplied: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "actionsync_last_applied_timestamp_seconds", Help: "When a commit was last fully applied.", ConstLabels: labels,
		}),
		appliedInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "actionsync_last_applied_info", Help: "The commit last fully applied, as a label; value 1.", ConstLabels: labels,
		}, []string{"commit"}),
		undone: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actionsync_writes_undone_total", Help: "Reconciles that found this daemon's writes undone by another writer, by the commit that writer holds.", ConstLabels: labels,
		}, []string{"other_commit"}),
		conflict: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "actionsync_conflict", Help: "1 while writing is stopped because another writer keeps undoing this daemon's writes; labelled with the commit each holds.", ConstLabels: labels,
		}, []string{"commit", "other_commit"}),
	}
}

// Observer counts the API requests of environment name (labelled env;
// "" for a daemon of one engine); it fits transport.Options.Observe.
func (m *Metrics) Observer(name string) func(route string, code int) {
	requests := m.env(name).requests
	return func(route string, code int) { requests.WithLabelValues(route, strconv.Itoa(code)).Inc() }
}

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (e *envMetrics) applied(commit string, at float64) {
	e.lastApplied.Set(at)
	e.appliedInfo.Reset()
	e.appliedInfo.WithLabelValues(commit).Set(1)
}
