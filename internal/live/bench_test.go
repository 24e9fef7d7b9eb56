package live_test

import (
	"fmt"
	"testing"

	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

var triggers = []string{"post-login", "credentials-exchange", "pre-user-registration", "post-user-registration"}

// BenchmarkSteadyReads reads the live state a steady-state plan needs from a
// tenant of n actions with t managed triggers, over HTTPS through go-auth0,
// and reports the API calls it took (reads/op).
func BenchmarkSteadyReads(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		for _, t := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("actions=%d/triggers=%d", n, t), func(b *testing.B) {
				srv := seed(b, n, t)
				reads := 0
				b.ResetTimer()
				for b.Loop() {
					r := live.NewReader(live.NewClient(srv.API))
					st, err := r.Read(b.Context())
					if err == nil {
						err = r.ReadBindings(b.Context(), st, triggers[:t])
					}
					if err != nil {
						b.Fatal(err)
					}
					reads = r.Calls()
				}
				b.ReportMetric(float64(reads), "reads/op")
			})
		}
	}
}

func seed(b *testing.B, n, t int) *tenanttest.Server {
	srv := tenanttest.Start(b, localtenant.Options{Node: "-", MaxActions: n})
	for i := range n {
		trig := triggers[i%t]
		a := &management.Action{
			Name:              auth0.String(fmt.Sprintf("a-%04d", i)),
			SupportedTriggers: []management.ActionTrigger{{ID: auth0.String(trig), Version: auth0.String(map[bool]string{true: "v3", false: "v2"}[trig == "post-login"])}},
			Code:              auth0.String("exports.x = 1;"),
			Deploy:            auth0.Bool(true),
		}
		if err := srv.API.Action.Create(b.Context(), a); err != nil {
			b.Fatal(err)
		}
	}
	return srv
}
