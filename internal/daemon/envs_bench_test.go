package daemon_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/daemon"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/source"
	"github.com/actionsync/actionsync/internal/sync"
	"github.com/actionsync/actionsync/internal/transport"
	"github.com/auth0/go-auth0/management"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
)

// pushTo pushes main to the given branches of the origin.
func (o *origin) pushTo(branches ...string) {
	o.t.Helper()
	var specs []config.RefSpec
	for _, b := range branches {
		specs = append(specs, config.RefSpec("+refs/heads/main:refs/heads/"+b))
	}
	if err := o.repo.Push(&git.PushOptions{RemoteName: "origin", Force: true, RefSpecs: specs}); err != nil && err != git.NoErrAlreadyUpToDate {
		o.t.Fatal(err)
	}
}

// BenchmarkEnvironments runs one daemon over 50 environments, each its own
// local tenant (HTTPS, 1 s builds) and its own branch of one origin, with
// both timers 100 times faster than the defaults (300 ms Git checks, 3 s
// drift checks). It reports, for the idle daemon, the Management API calls
// per environment scaled to an hour at the defaults (30 s, 5 min), the Git
// listings per hour (one serves every environment), and the heap the
// daemon holds; then the time from a push to one environment's branch to
// its new code deployed while the 49 others idle.
func BenchmarkEnvironments(b *testing.B) {
	const n = 50
	interval, drift := 300*time.Millisecond, 3*time.Second
	for range b.N {
		o := newOrigin(b)
		o.commit(actionFiles(codeA))
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("env-%02d", i)
		}
		o.pushTo(names...)
		tenants := make([]*tenanttest.Server, n)
		for i := range tenants {
			tenants[i] = tenanttest.Start(b, localtenant.Options{BuildDelay: time.Second, Node: "-"})
		}
		base := heapInUse()
		metrics := daemon.NewMetrics()
		lister := &source.Remote{URL: o.url()}
		var listings atomic.Int64
		cfg := daemon.Config{Interval: interval, DriftInterval: drift, Metrics: metrics, Logger: slog.New(slog.DiscardHandler)}
		cfg.Heads = func(ctx context.Context) (map[string]string, error) { listings.Add(1); return lister.Branches(ctx) }
		for i, srv := range tenants {
			client := &http.Client{Transport: transport.New(srv.HTTP.Transport, transport.Options{Observe: metrics.Observer(names[i])})}
			api := srv.NewClient(b, management.WithClient(client), management.WithNoRetries())
			src := &source.Remote{URL: o.url(), Branch: names[i]}
			eng := sync.New(api, src, sync.Options{Poll: 100 * time.Millisecond})
			cfg.Environments = append(cfg.Environments, daemon.Environment{Name: names[i], Engine: eng, Ref: names[i]})
		}
		d := daemon.New(cfg)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		for _, srv := range tenants {
			waitFor(b, "every environment live", func() bool { return liveOn(srv.API) == codeA })
		}
		waitFor(b, "every environment ready", func() bool { ok, _ := d.Ready(); return ok })
		for _, srv := range tenants {
			srv.ResetRequests()
		}
		before := listings.Load()
		window := 3 * drift
		time.Sleep(window) // measuring a rate over wall time: the one sleep here
		calls := 0
		for _, srv := range tenants {
			for _, r := range srv.Requests() {
				if r.Path != "/oauth/token" {
					calls++
				}
			}
		}
		drifts := float64(window) / float64(drift)
		b.ReportMetric(float64(calls)/n/drifts*12, "api-calls/hour/env")
		b.ReportMetric(float64(listings.Load()-before)/(float64(window)/float64(interval))*120, "git-listings/hour")
		b.ReportMetric(float64(heapInUse()-base)/(1<<20), "heap-MiB")

		code := "exports.onExecutePostLogin = async () => {}; // pushed to env-07\n"
		o.commit(actionFiles(code))
		start := time.Now()
		o.pushTo("env-07")
		waitFor(b, "env-07 live", func() bool { return liveOn(tenants[7].API) == code })
		b.ReportMetric(time.Since(start).Seconds(), "s/push-to-live")
		if liveOn(tenants[8].API) != codeA {
			b.Fatal("a push to env-07's branch reached env-08")
		}
		cancel()
		<-done
	}
}

func liveOn(api *management.Management) string { return deployedCode(api) }

// heapInUse is the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
