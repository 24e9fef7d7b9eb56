package sync_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/source"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/sync"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

const handCode = "exports.onExecutePostLogin = async () => {}; // made in the dashboard\n"

// theirs is code another repo, of owner team-b, uploaded.
func theirs() string {
	a := &manifest.Action{Code: handCode}
	return stamp.For(a, "team-b", "0123abc", []byte("their key")).Code(a.Code)
}

// syncedBesideOthers is a synced fixture whose post-login also binds a
// hand-made action, first, and team-b's, fourth.
func syncedBesideOthers(t *testing.T) *fixture {
	t.Helper()
	f := synced(t)
	tenanttest.Seed(t, f.api,
		tenanttest.Action{Name: "hand-made", Trigger: "post-login", Code: handCode, Deploy: true},
		tenanttest.Action{Name: "their-action", Trigger: "post-login", Code: theirs(), Deploy: true},
	)
	tenanttest.Bind(t, f.api, "post-login", "hand-made", "deny-blocked-ips", "enrich-profile|Enrich profile", "their-action", "require-mfa-for-admins")
	return f
}

// TestPruneKeepsOthers: --prune deletes the action this owner wrote and
// dropped, and neither deletes nor unbinds a hand-made action or another
// owner's, which stay where they were bound.
func TestPruneKeepsOthers(t *testing.T) {
	f := syncedBesideOthers(t)
	f.repo.remove("actions/require-mfa-for-admins")
	f.repo.write(map[string]string{"triggers.yaml": "post-login:\n  - enrich-profile\n  - deny-blocked-ips\ncredentials-exchange:\n  - add-token-claims\n"})
	f.repo.commit("drop mfa, reorder")

	res, calls, err := f.reconcile(sync.Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, []string{bindLogin, deleteCall})
	want := []string{"hand-made|hand-made", "enrich-profile|enrich-profile", "deny-blocked-ips|deny-blocked-ips", "their-action|their-action"}
	if got := tenanttest.Order(t, f.api, "post-login"); !slices.Equal(got, want) {
		t.Errorf("post-login = %q, want %q", got, want)
	}
	var kept []string
	for _, u := range res.Plan.Unmanaged {
		kept = append(kept, u.Action+": "+u.Reason)
	}
	wantKept := []string{
		"hand-made: made outside actionsync (no stamp): never deleted nor unbound; add it to the repo to adopt it",
		"their-action: written by owner team-b, not actionsync: never deleted nor unbound",
	}
	if !slices.Equal(kept, wantKept) {
		t.Errorf("unmanaged = %q, want %q", kept, wantKept)
	}
	assertSteadyWith(t, f, sync.Options{Prune: true})
}

func assertSteadyWith(t *testing.T, f *fixture, opts sync.Options) {
	t.Helper()
	res, calls, err := f.reconcile(opts)
	if err != nil || !res.Plan.Empty() || len(calls) != 0 {
		t.Errorf("not converged: %v, steps %+v, calls %q", err, res.Plan.Steps, calls)
	}
}

// TestTwoOwnersConverge: two repos of different owners on one tenant,
// sharing a trigger, each with --prune, run in turns: after the first
// round neither writes, and each keeps the other's actions and bindings.
func TestTwoOwnersConverge(t *testing.T) {
	filesA := exampleFiles(t)
	filesA["actionsync.yaml"] = "owner: team-a\n"
	f := newFixture(t, filesA, localtenant.Options{})
	b := newGitRepo(t, map[string]string{
		"actionsync.yaml":             "owner: team-b\n",
		"actions/b-first/action.yaml": "trigger:\n  id: post-login\n",
		"actions/b-first/index.js":    "exports.onExecutePostLogin = async () => {}; // b\n",
		"actions/b-m2m/action.yaml":   "trigger:\n  id: credentials-exchange\n",
		"actions/b-m2m/index.js":      "exports.onExecuteCredentialsExchange = async () => {};\n",
		"triggers.yaml":               "post-login:\n  - b-first\ncredentials-exchange:\n  - b-m2m\n",
	})
	engines := map[string]*sync.Engine{
		"team-a": f.engine(sync.Options{Prune: true}),
		"team-b": sync.New(f.api, source.LocalGit{Path: b.dir}, sync.Options{Prune: true, SecretKey: []byte("b's key"), Poll: 5 * time.Millisecond}),
	}
	for round := 1; round <= 3; round++ {
		for _, owner := range []string{"team-a", "team-b"} {
			f.srv.ResetRequests()
			if _, err := planAndApply(t.Context(), engines[owner]); err != nil {
				t.Fatalf("round %d, %s: %v", round, owner, err)
			}
			if calls := writes(f.srv); round > 1 && len(calls) > 0 {
				t.Errorf("round %d, %s wrote %q", round, owner, calls)
			}
		}
	}
	want := []string{"deny-blocked-ips|deny-blocked-ips", "enrich-profile|Enrich profile", "require-mfa-for-admins|require-mfa-for-admins", "b-first|b-first"}
	if got := tenanttest.Order(t, f.api, "post-login"); !slices.Equal(got, want) {
		t.Errorf("post-login = %q, want %q", got, want)
	}
	if got := tenanttest.Order(t, f.api, "credentials-exchange"); !slices.Equal(got, []string{"add-token-claims|add-token-claims", "b-m2m|b-m2m"}) {
		t.Errorf("credentials-exchange = %q", got)
	}
}

// TestForeignRefused: a repo that names an action another owner wrote is
// refused before any write, naming both owners, unless --adopt-foreign.
func TestForeignRefused(t *testing.T) {
	f := synced(t)
	f.repo.write(map[string]string{"actionsync.yaml": "owner: identity\n"})
	f.repo.commit("a new owner")
	_, calls, err := f.reconcile(sync.Options{})
	var fe *diff.ForeignError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "owner actionsync") || !strings.Contains(err.Error(), "owner identity") {
		t.Fatalf("error = %v, want a ForeignError naming both owners", err)
	}
	assertCalls(t, calls, nil)

	res, calls, err := f.reconcile(sync.Options{AdoptForeign: true})
	if err != nil {
		t.Fatal(err)
	}
	// The module too, published anew with the new owner's stamp, which its
	// two actions pin in the same update.
	assertCalls(t, calls, concat(repeat(updateCall, 4), repeat(deployCall, 4), []string{moduleUpdateCall, publishCall}))
	for _, s := range res.Plan.Steps {
		if s.Kind != diff.Adopt && s.Kind != diff.ModuleAdopt {
			t.Errorf("step %s %s%s, want adopt", s.Kind, s.Action, s.Module)
		}
	}
	assertSteady(t, f)
	l, _ := f.api.Action.List(t.Context(), management.Parameter("actionName", "enrich-profile"))
	if !strings.Contains(l.Actions[0].GetCode(), "// actionsync owner=identity commit=") {
		t.Errorf("the stamp names another owner:\n%s", l.Actions[0].GetCode())
	}
}

// TestTooManyActions: a plan that would create past the tenant's limit is
// refused before any write, naming the limit.
func TestTooManyActions(t *testing.T) {
	f := newFixture(t, exampleFiles(t), localtenant.Options{})
	_, calls, err := f.reconcile(sync.Options{MaxActions: 3})
	if !errors.Is(err, diff.ErrTooManyActions) || !strings.Contains(err.Error(), "leaves 4 actions") || !strings.Contains(err.Error(), "limit of 3 actions per tenant") {
		t.Fatalf("error = %v, want ErrTooManyActions naming 4 and the limit of 3", err)
	}
	assertCalls(t, calls, nil)
}

// TestRevertPastKeptVersions: Auth0 keeps 50 versions; going back to one
// that is gone (after 50 edits in the dashboard, which keep the stamp line
// the code shows) is an update and a deploy, and the plan says why.
func TestRevertPastKeptVersions(t *testing.T) {
	f := synced(t)
	l, _ := f.api.Action.List(t.Context(), management.Parameter("actionName", "deny-blocked-ips"))
	a := l.Actions[0]
	_, st, _ := stamp.Split(a.GetCode())
	for i := range 50 {
		edit := &management.Action{Name: a.Name, SupportedTriggers: a.SupportedTriggers,
			Code: auth0.String(st.Code(fmt.Sprintf("exports.onExecutePostLogin = async () => {}; // edit %d\n", i)))}
		if err := f.api.Action.Update(t.Context(), a.GetID(), edit); err != nil {
			t.Fatal(err)
		}
		tenanttest.WaitBuilt(t, f.api, a.GetID())
		if _, err := f.api.Action.Deploy(t.Context(), a.GetID()); err != nil {
			t.Fatal(err)
		}
	}
	res, calls, err := f.reconcile(sync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, []string{updateCall, deployCall})
	s := res.Plan.Steps[0]
	if s.Kind != diff.Update || !strings.Contains(s.Reason, "versions 1 to 1 are gone (Auth0 keeps the newest 50), so it is built anew") {
		t.Errorf("step %s: %q, want an update saying version 1 is gone", s.Kind, s.Reason)
	}
	assertSteady(t, f)
}

// TestOthersActionsNotOrdered: a triggers.yaml that names another owner's
// action or a hand-made one, neither held by the repo, is refused before
// any write, at its line, naming the owners: ordering them would move them
// after their owner's repo on every sync. Dropped from triggers.yaml, they
// keep their places.
func TestOthersActionsNotOrdered(t *testing.T) {
	f := syncedBesideOthers(t)
	before := tenanttest.Order(t, f.api, "post-login")
	f.repo.write(map[string]string{"triggers.yaml": "post-login:\n  - their-action\n  - require-mfa-for-admins\n  - deny-blocked-ips\n  - hand-made\n  - name: enrich-profile\n    display_name: Enrich profile\ncredentials-exchange:\n  - add-token-claims\n"})
	f.repo.commit("order the others' actions too")

	_, calls, err := f.reconcile(sync.Options{Prune: true})
	if !errors.Is(err, diff.ErrForeign) {
		t.Errorf("error = %v, want ErrForeign", err)
	}
	for _, want := range []string{
		"triggers.yaml:2: post-login: action their-action is written by owner team-b, and this repo is owner actionsync",
		"triggers.yaml:5: post-login: action hand-made was made outside actionsync (no stamp), and the repo does not hold it",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v\nwant it to say %q", err, want)
		}
	}
	assertCalls(t, calls, nil)
	if got := tenanttest.Order(t, f.api, "post-login"); !slices.Equal(got, before) {
		t.Errorf("post-login = %q, want it as it was, %q", got, before)
	}

	f.repo.write(map[string]string{"triggers.yaml": "post-login:\n  - require-mfa-for-admins\n  - deny-blocked-ips\n  - name: enrich-profile\n    display_name: Enrich profile\ncredentials-exchange:\n  - add-token-claims\n"})
	f.repo.commit("order only our own")
	_, calls, err = f.reconcile(sync.Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	assertCalls(t, calls, []string{bindLogin})
	// Each keeps its place: after as many of the repo's bindings as it
	// followed (hand-made none, their-action two).
	want := []string{"hand-made|hand-made", "require-mfa-for-admins|require-mfa-for-admins", "deny-blocked-ips|deny-blocked-ips", "their-action|their-action", "enrich-profile|Enrich profile"}
	if got := tenanttest.Order(t, f.api, "post-login"); !slices.Equal(got, want) {
		t.Errorf("post-login = %q, want %q", got, want)
	}
	assertSteadyWith(t, f, sync.Options{Prune: true})
}
