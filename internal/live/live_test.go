package live_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

func create(t *testing.T, srv *tenanttest.Server, name string, deps ...management.ActionDependency) *management.Action {
	t.Helper()
	a := &management.Action{
		Name:              auth0.String(name),
		SupportedTriggers: []management.ActionTrigger{{ID: auth0.String("post-login"), Version: auth0.String("v3")}},
		Code:              auth0.String("exports.onExecutePostLogin = async () => {};"),
		Deploy:            auth0.Bool(true),
	}
	if deps != nil {
		a.Dependencies = &deps
	}
	if err := srv.API.Action.Create(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestReadPagesAndNormalises reads 250 actions in three pages, the bindings
// of the managed trigger, and normalises dependencies as the tenant keeps
// them (sorted, no registry_url).
func TestReadPagesAndNormalises(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{Node: "-", MaxActions: 250})
	for i := range 249 {
		create(t, srv, fmt.Sprintf("a-%03d", i))
	}
	create(t, srv, "deps",
		management.ActionDependency{Name: auth0.String("zod"), Version: auth0.String("3.0.0"), RegistryURL: auth0.String("https://www.npmjs.com/package/zod")},
		management.ActionDependency{Name: auth0.String("axios"), Version: auth0.String("1.7.9")})
	srv.API.Action.UpdateBindings(t.Context(), "post-login", []*management.ActionBinding{{
		Ref: &management.ActionBindingReference{Type: auth0.String("action_name"), Value: auth0.String("deps")}, DisplayName: auth0.String("Deps"),
	}})
	desired := &manifest.Repo{Triggers: []*manifest.Trigger{{ID: "post-login"}}}
	srv.ResetRequests()
	st, err := live.Read(t.Context(), srv.API.Action, desired, live.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Live.Actions) != 250 || st.Reads != 5 {
		t.Errorf("read %d actions in %d calls, want 250 in 5 (triggers, 3 pages, bindings)", len(st.Live.Actions), st.Reads)
	}
	n := 0
	for _, r := range srv.Requests() {
		if r.Path != "/oauth/token" {
			n++
		}
	}
	if n != st.Reads {
		t.Errorf("the tenant saw %d API requests, the reader counted %d", n, st.Reads)
	}
	d := st.Live.Action("deps")
	want := []manifest.Dependency{{Name: "axios", Version: "1.7.9"}, {Name: "zod", Version: "3.0.0"}}
	if !slices.Equal(d.Dependencies, want) || d.Deployed == nil || !slices.Equal(d.Deployed.Dependencies, want) {
		t.Errorf("dependencies = %v (deployed %+v), want %v", d.Dependencies, d.Deployed, want)
	}
	if b := st.Live.Bindings["post-login"]; len(b) != 1 || b[0].Action != "deps" || b[0].DisplayName != "Deps" {
		t.Errorf("bindings = %+v", b)
	}
}

// TestReadFailureIsAnError: a tenant that fails every request gives an
// error, never a smaller live state.
func TestReadFailureIsAnError(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{Node: "-"})
	create(t, srv, "a")
	srv.SetFaults(1)
	st, err := live.Read(t.Context(), srv.API.Action, &manifest.Repo{}, live.Options{})
	if err == nil || st != nil {
		t.Fatalf("Read = %+v, %v; want an error", st, err)
	}
}

// TestVersionsOnlyForCandidates: versions are read for an action whose
// draft differs from the commit, and for no other.
func TestVersionsOnlyForCandidates(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{Node: "-"})
	create(t, srv, "same")
	create(t, srv, "changed")
	same := &manifest.Action{Name: "same", Trigger: manifest.TriggerRef{ID: "post-login", Version: "v3"}, Runtime: "node22",
		Code: "exports.onExecutePostLogin = async () => {};"}
	changed := *same
	changed.Name, changed.Code = "changed", "// new"
	desired := &manifest.Repo{Actions: []*manifest.Action{&changed, same}}
	st, err := live.Read(t.Context(), srv.API.Action, desired, live.Options{})
	if err == nil {
		err = st.ReadVersions(t.Context(), srv.API.Action, diff.RollbackCandidates(desired, st.Live, nil))
	}
	if err != nil {
		t.Fatal(err)
	}
	if st.Live.Action("changed").Versions == nil || st.Live.Action("same").Versions != nil {
		t.Errorf("versions read for changed: %v, for same: %v; want only changed",
			st.Live.Action("changed").Versions != nil, st.Live.Action("same").Versions != nil)
	}
}
