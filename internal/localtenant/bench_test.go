package localtenant_test

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

func seedTenant(b *testing.B, n int) *tenanttest.Server {
	b.Helper()
	// A tenant of n actions, past Auth0's default limit of 100: a plan
	// with a larger entity limit.
	srv := tenanttest.Start(b, localtenant.Options{Node: "-", MaxActions: n})
	for i := range n {
		a := newAction(fmt.Sprintf("action-%04d", i))
		a.Deploy = auth0.Bool(true)
		if err := srv.API.Action.Create(b.Context(), a); err != nil {
			b.Fatal(err)
		}
	}
	return srv
}

// BenchmarkList reads one page of 50 actions through go-auth0 over HTTPS
// from a tenant of 1,000, from parallel clients.
func BenchmarkList(b *testing.B) {
	srv := seedTenant(b, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := srv.API.Action.List(b.Context(), management.Page(3)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDeploy is the write path of a sync: update a draft, then deploy
// it (no build delay), from parallel clients on distinct actions.
func BenchmarkDeploy(b *testing.B) {
	srv := seedTenant(b, 64)
	l, err := srv.API.Action.List(b.Context(), management.PerPage(64))
	if err != nil {
		b.Fatal(err)
	}
	next := make(chan *management.Action, len(l.Actions))
	for _, a := range l.Actions {
		next <- a
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		a := <-next
		id := a.GetID()
		i := 0
		for pb.Next() {
			i++
			upd := newAction(a.GetName())
			upd.Dependencies, upd.Secrets = nil, nil
			upd.Code = auth0.String(fmt.Sprintf("exports.onExecutePostLogin = async () => { /* %d */ };", i))
			if err := srv.API.Action.Update(b.Context(), id, upd); err != nil {
				b.Fatal(err)
			}
			if _, err := srv.API.Action.Deploy(b.Context(), id); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRead is one GET of an action over HTTPS through go-auth0, the
// call a sync makes most while it waits for builds.
func BenchmarkRead(b *testing.B) {
	srv := seedTenant(b, 1000)
	l, _ := srv.API.Action.List(b.Context())
	id := l.Actions[0].GetID()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := srv.API.Action.Read(b.Context(), id); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkServeList is the tenant's own cost of a page of 50 actions out of
// 1,000, without the network or a client decoding the answer.
func BenchmarkServeList(b *testing.B) {
	srv := seedTenant(b, 1000)
	tok := fetchToken(b, srv)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			r := authed("GET", "/api/v2/actions/actions?page=3&per_page=50", "")
			r.Header.Set("Authorization", "Bearer "+tok)
			srv.Tenant.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
}
