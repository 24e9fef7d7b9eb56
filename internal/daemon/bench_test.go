package daemon_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/auth0/go-auth0/management"
)

// BenchmarkPushToLive measures the time from a push to the new code being
// the deployed version, with a 1 s Git poll interval and 1 s builds. With
// the default 30 s interval, add the difference in the mean wait for the
// poll (15 s instead of 0.5 s).
func BenchmarkPushToLive(b *testing.B) {
	o := newOrigin(b)
	o.commit(actionFiles(codeA))
	o.push()
	h := startWith(b, o, time.Second, time.Hour, time.Second)
	h.eventually("live", func() bool { return h.liveCode() == codeA })
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		code := fmt.Sprintf("exports.onExecutePostLogin = async () => {}; // %d\n", i)
		o.commit(actionFiles(code))
		start := time.Now()
		o.push()
		h.eventually("the push live", func() bool { return h.liveCode() == code })
		total += time.Since(start)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/push")
}

// BenchmarkIdleCost runs the daemon on a repo in sync, with both timers
// 1,000 times faster than the defaults (30 ms poll, 300 ms drift), and
// counts what it spends: Management API calls per drift check and Git
// checks per poll, scaled to an hour at the defaults (30 s, 5 min).
func BenchmarkIdleCost(b *testing.B) {
	for range b.N {
		o := newOrigin(b)
		o.commit(map[string]string{
			"actions/greet/action.yaml": "trigger:\n  id: post-login\n  version: v3\n",
			"actions/greet/index.js":    codeA,
			"actions/m2m/action.yaml":   "trigger:\n  id: credentials-exchange\n  version: v2\n",
			"actions/m2m/index.js":      "exports.onExecuteCredentialsExchange = async () => {};\n",
			"triggers.yaml":             "post-login:\n  - greet\ncredentials-exchange:\n  - m2m\n",
		})
		o.push()
		h := startWith(b, o, 30*time.Millisecond, 300*time.Millisecond, 10*time.Millisecond)
		h.eventually("live", func() bool { return h.liveCode() == codeA })
		h.eventually("the first drift check", func() bool {
			return h.metric(`actionsync_reconcile_total{result="success"} 2`) != ""
		})
		h.srv.ResetRequests()
		before := h.gitChecks()
		window := 3 * time.Second
		time.Sleep(window) // measuring a rate over wall time: the one sleep here
		calls := 0
		for _, r := range h.srv.Requests() {
			if r.Path != "/oauth/token" {
				calls++
			}
		}
		checks := h.gitChecks() - before
		drifts := float64(window) / float64(300*time.Millisecond)
		b.ReportMetric(float64(calls)/drifts, "api-calls/drift-check")
		b.ReportMetric(float64(calls)/drifts*12, "api-calls/hour")
		b.ReportMetric(float64(checks)/(float64(window)/float64(30*time.Millisecond))*120, "git-checks/hour")
		h.stop()
	}
}

// gitChecks counts the daemon's ls-remote calls, from the source-check log
// the harness's Head wrapper keeps.
func (h *harness) gitChecks() int { return int(h.heads.Load()) }

// BenchmarkPushToLive40 measures the time from a push that changes 40
// actions to all 40 new versions deployed, with a 200 ms Git poll
// interval: with 1 s builds and no rate limit, and with real ones (10 s
// builds, 10 requests a second). About one build and the writes at the
// rate, since the builds run together and each action is deployed as soon
// as its build is seen done.
func BenchmarkPushToLive40(b *testing.B) {
	for _, c := range []struct {
		build time.Duration
		rate  int
	}{{time.Second, 0}, {10 * time.Second, 10}} {
		b.Run(fmt.Sprintf("build=%s/rate=%d", c.build, c.rate), func(b *testing.B) { pushToLive40(b, c.build, c.rate) })
	}
}

func pushToLive40(b *testing.B, build time.Duration, rate int) {
	const n = 40
	files := func(gen int) map[string]string {
		out := map[string]string{"triggers.yaml": "post-login:\n  - action-00\n"}
		for i := range n {
			name := fmt.Sprintf("action-%02d", i)
			out["actions/"+name+"/action.yaml"] = "trigger:\n  id: post-login\n  version: v3\n"
			out["actions/"+name+"/index.js"] = fmt.Sprintf("exports.onExecutePostLogin = async () => {}; // %d\n", gen)
		}
		return out
	}
	// Whether a push is live is read from the daemon's metrics, not the
	// tenant, whose rate limit the benchmark's own reads would spend: the
	// k-th successful reconcile (drift checks are an hour apart), then the
	// tenant read once to confirm.
	done := func(h *harness, k int) func() bool {
		return func() bool { return h.metric(fmt.Sprintf(`actionsync_reconcile_total{result="success"} %d`, k)) != "" }
	}
	live := func(h *harness, gen int) {
		l, err := h.srv.API.Action.List(context.Background(), management.PerPage(100))
		if err != nil || len(l.Actions) != n {
			b.Fatalf("list: %v", err)
		}
		for _, a := range l.Actions {
			if !strings.Contains(a.GetDeployedVersion().GetCode(), fmt.Sprintf("// %d\n", gen)) {
				b.Fatalf("%s deploys %q, want generation %d", a.GetName(), a.GetDeployedVersion().GetCode(), gen)
			}
		}
	}
	o := newOrigin(b)
	o.commit(files(0))
	o.push()
	srv := tenanttest.Start(b, localtenant.Options{BuildDelay: build, RateLimit: rate, Node: "-"})
	h := startOn(b, srv, o, 200*time.Millisecond, time.Hour, build)
	waitWithin(b, 2*time.Minute, "all live", done(h, 1))
	live(h, 0)
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		o.commit(files(i + 1))
		start := time.Now()
		o.push()
		waitWithin(b, 2*time.Minute, "the push live", done(h, i+2))
		total += time.Since(start)
		b.StopTimer()
		live(h, i+1)
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/push")
}
