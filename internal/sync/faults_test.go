package sync_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/sync"
	"github.com/auth0/go-auth0/management"
)

// manyActions is a repo of n post-login actions, the first 20 bound in
// order: Auth0 binds at most 20 actions to a trigger.
func manyActions(n int) map[string]string {
	files := map[string]string{}
	triggers := "post-login:\n"
	for i := range n {
		name := fmt.Sprintf("action-%03d", i)
		files["actions/"+name+"/action.yaml"] = "trigger:\n  id: post-login\n  version: v3\n"
		files["actions/"+name+"/index.js"] = fmt.Sprintf("exports.onExecutePostLogin = async (event, api) => { /* %d */ };\n", i)
		if i < 20 {
			triggers += "  - " + name + "\n"
		}
	}
	files["triggers.yaml"] = triggers
	return files
}

// TestFaultsConverge: with 20% of requests failing (429, 500, 503 or
// dropped), syncing 50 actions converges within a few runs, with no
// duplicate action and the bindings in order.
func TestFaultsConverge(t *testing.T) {
	f := newFixture(t, manyActions(50), localtenant.Options{Faults: 0.2, Seed: 42})
	var err error
	runs := 0
	for runs < 6 {
		runs++
		if _, _, err = f.reconcile(sync.Options{Parallel: 8}); err == nil {
			break
		}
		t.Logf("run %d: %v", runs, err)
	}
	if err != nil {
		t.Fatalf("not converged after %d runs: %v", runs, err)
	}
	f.srv.SetFaults(0)
	l, err := f.api.Action.List(t.Context(), management.PerPage(100))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range l.Actions {
		if seen[a.GetName()] {
			t.Errorf("duplicate action %s", a.GetName())
		}
		seen[a.GetName()] = true
	}
	if l.Total != 50 {
		t.Errorf("%d actions, want 50", l.Total)
	}
	bl, _ := f.api.Action.Bindings(t.Context(), "post-login", management.PerPage(100))
	for i, b := range bl.Bindings {
		if want := fmt.Sprintf("action-%03d", i); b.GetAction().GetName() != want {
			t.Fatalf("binding %d is %s, want %s", i, b.GetAction().GetName(), want)
		}
	}
	assertSteady(t, f)
	t.Logf("converged in %d runs", runs)
}

// TestBuildWaitsShareListings: the build waits of a first sync of 40
// actions are answered by a few listings of the tenant, each serving every
// waiting action, not by reads of each action.
func TestBuildWaitsShareListings(t *testing.T) {
	const n = 40
	f := newFixture(t, manyActions(n), localtenant.Options{BuildDelay: 300 * time.Millisecond})
	if _, _, err := f.reconcile(sync.Options{}); err != nil {
		t.Fatal(err)
	}
	lists, reads := 0, 0
	for _, r := range f.srv.Requests() {
		switch {
		case r.Method != http.MethodGet:
		case r.Path == "/api/v2/actions/actions":
			lists++
		case strings.HasPrefix(r.Path, "/api/v2/actions/actions/"):
			reads++
		}
	}
	if lists > n/2 || reads != 0 {
		t.Errorf("%d listings and %d reads of one action for %d builds; want a few listings and no reads", lists, reads, n)
	}
}
