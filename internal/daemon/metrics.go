package daemon

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the daemon's Prometheus metrics, on a registry of their own.
type Metrics struct {
	reg          *prometheus.Registry
	reconciles   *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	requests     *prometheus.CounterVec
	outOfSync    prometheus.Gauge
	lastApplied  prometheus.Gauge
	appliedInfo  *prometheus.GaugeVec
	sourceErrors prometheus.Counter
	suspended    prometheus.Gauge
	leader       prometheus.Gauge
	undone       *prometheus.CounterVec
	conflict     *prometheus.GaugeVec
}

// NewMetrics registers the actionsync_* metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actionsync_reconcile_total", Help: "Reconciles, by result (success, error).",
		}, []string{"result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "actionsync_reconcile_duration_seconds", Help: "Time a reconcile took, by result.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actionsync_auth0_requests_total", Help: "Management API requests, by route and status code (0: no answer).",
		}, []string{"route", "code"}),
		outOfSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "actionsync_out_of_sync_actions", Help: "Actions and triggers the last reconcile found out of sync and left so.",
		}),
		lastApplied: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "actionsync_last_applied_timestamp_seconds", Help: "When a commit was last fully applied.",
		}),
		appliedInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "actionsync_last_applied_info", Help: "The commit last fully applied, as a label; value 1.",
		}, []string{"commit"}),
		sourceErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "actionsync_source_errors_total", Help: "Failed checks of the Git remote or the repo.",
		}),
		suspended: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "actionsync_suspended", Help: "1 while the daemon is suspended (writes nothing), else 0.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "actionsync_leader", Help: "1 while this replica leads (always, without --leader-elect), else 0.",
		}),
		undone: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actionsync_writes_undone_total", Help: "Reconciles that found this daemon's writes undone by another writer, by the commit that writer holds.",
		}, []string{"other_commit"}),
		conflict: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "actionsync_conflict", Help: "1 while writing is stopped because another writer keeps undoing this daemon's writes; labelled with the commit each holds.",
		}, []string{"commit", "other_commit"}),
	}
	m.reg.MustRegister(m.reconciles, m.duration, m.requests, m.outOfSync, m.lastApplied, m.appliedInfo, m.sourceErrors, m.suspended,
		m.leader, m.undone, m.conflict,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest counts one API request; it fits transport.Options.Observe.
func (m *Metrics) ObserveRequest(route string, code int) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) applied(commit string, at float64) {
	m.lastApplied.Set(at)
	m.appliedInfo.Reset()
	m.appliedInfo.WithLabelValues(commit).Set(1)
}
