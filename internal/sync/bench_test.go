package sync_test

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/sync"
)

// BenchmarkConverge200 syncs 200 actions into an empty tenant limited to 10
// requests a second, with 1 s builds, and reports the time, the API calls,
// and the lower bound: the calls no sync can avoid (triggers, actions and
// bindings reads, a create and a deploy per action, one bindings write)
// divided by the rate limit. Run with -benchtime 1x; it takes minutes.
func BenchmarkConverge200(b *testing.B) {
	const n, rate = 200, 10
	for range b.N {
		b.StopTimer()
		f := newFixture(b, manyActions(n), localtenant.Options{RateLimit: rate, BuildDelay: time.Second, MaxActions: n})
		start := time.Now()
		b.StartTimer()
		res, err := planAndApply(b.Context(), f.engine(sync.Options{Parallel: 16, Poll: 250 * time.Millisecond, MaxActions: n}))
		b.StopTimer()
		if err != nil || len(res.Applied) != n+1 {
			b.Fatalf("converge: %v", err)
		}
		b.StartTimer()
		elapsed := time.Since(start)
		calls, refused := 0, 0
		for _, r := range f.srv.Requests() {
			if r.Path == "/oauth/token" {
				continue
			}
			calls++
			if r.Status == http.StatusTooManyRequests {
				refused++
			}
		}
		lower := 1 + 2 + 1 + 2*n + 1 // triggers, 2 pages of actions, bindings, create+deploy each, bind
		b.ReportMetric(elapsed.Seconds(), "s")
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(float64(refused), "429s")
		b.ReportMetric(float64(lower), "lower-bound-calls")
		b.ReportMetric(float64(lower)/rate, "lower-bound-s")
	}
}

// BenchmarkSteady1000 is the steady state of 1,000 actions: the calls one
// plan makes when nothing changed, and the peak heap it reaches.
func BenchmarkSteady1000(b *testing.B) {
	f := newFixture(b, manyActions(1000), localtenant.Options{MaxActions: 1000})
	if _, err := planAndApply(b.Context(), f.engine(sync.Options{Parallel: 16, MaxActions: 1000})); err != nil {
		b.Fatal(err)
	}
	var peak uint64
	stop := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapAlloc)
			}
		}
	}()
	calls := 0
	b.ResetTimer()
	for b.Loop() {
		f.srv.ResetRequests()
		p, err := f.engine(sync.Options{MaxActions: 1000}).Plan(b.Context())
		if err != nil || !p.Changes.Empty() {
			b.Fatal(err)
		}
		calls = len(f.srv.Requests())
	}
	close(stop)
	b.ReportMetric(float64(calls), "calls/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// BenchmarkModuleEdit30 edits a module 30 actions use, on a tenant limited
// to 10 requests a second with 10 s builds: one update and one publish of
// the module, then 30 updates and 30 deploys, which all wait on one round
// of builds. It reports the time, the API calls, and the lower bounds: the
// calls no sync can avoid (the plan's reads: triggers, actions, modules,
// the module's versions, bindings; the module's update and publish; an
// update and a deploy per action), and the time of the last update sent at
// the rate limit, its build, and its deploy. Run with -benchtime 1x.
func BenchmarkModuleEdit30(b *testing.B) {
	for _, rate := range []int{10, 2} { // a paid tenant's rate, and a free one's
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) { moduleEdit30(b, rate) })
	}
}

func moduleEdit30(b *testing.B, rate int) {
	const n, build = 30, 10 * time.Second
	files := manyActions(n)
	for name, content := range files {
		if strings.HasSuffix(name, "/action.yaml") {
			files[name] = content + "modules: [shared]\n"
		}
	}
	files["modules/shared/module.yaml"] = "{}\n"
	files["modules/shared/index.js"] = "exports.v = 1;\n"
	for range b.N {
		b.StopTimer()
		f := newFixture(b, files, localtenant.Options{RateLimit: rate, BuildDelay: build})
		if _, err := planAndApply(b.Context(), f.engine(sync.Options{Parallel: 16, Poll: 250 * time.Millisecond, MaxActions: n})); err != nil {
			b.Fatal(err)
		}
		f.repo.write(map[string]string{"modules/shared/index.js": "exports.v = 2;\n"})
		f.repo.commit("edit the module")
		f.srv.ResetRequests()
		start := time.Now()
		b.StartTimer()
		res, err := planAndApply(b.Context(), f.engine(sync.Options{Parallel: 16, Poll: 250 * time.Millisecond, MaxActions: n}))
		b.StopTimer()
		if err != nil || len(res.Applied) != n+1 {
			b.Fatalf("module edit: %v, %d steps", err, len(res.Applied))
		}
		elapsed := time.Since(start)
		calls := len(f.srv.Requests())
		const reads = 5
		lower := reads + 2 + 2*n
		b.ReportMetric(elapsed.Seconds(), "s")
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(float64(lower), "lower-bound-calls")
		b.ReportMetric(float64(reads+2+n+1)/float64(rate)+build.Seconds(), "lower-bound-s")
		b.StartTimer()
	}
}
