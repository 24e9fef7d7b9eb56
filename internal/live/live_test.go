package live_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

const code = "exports.onExecutePostLogin = async () => {};"

func create(t *testing.T, srv *tenanttest.Server, name string, deps ...management.ActionDependency) *management.Action {
	t.Helper()
	return createWith(t, srv, name, code, deps...)
}

func createWith(t *testing.T, srv *tenanttest.Server, name, code string, deps ...management.ActionDependency) *management.Action {
	t.Helper()
	a := &management.Action{
		Name:              auth0.String(name),
		SupportedTriggers: []management.ActionTrigger{{ID: auth0.String("post-login"), Version: auth0.String("v3")}},
		Code:              auth0.String(code),
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

func reader(srv *tenanttest.Server) *live.Reader { return live.NewReader(live.NewClient(srv.API)) }

// TestReadPagesAndNormalises reads 250 actions in three pages, the bindings
// of a trigger, and normalises dependencies as the tenant keeps them
// (sorted, no registry_url).
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
	srv.ResetRequests()
	r := reader(srv)
	st, err := r.Read(t.Context())
	if err == nil {
		err = r.ReadBindings(t.Context(), st, []string{"post-login"})
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Actions) != 250 || r.Calls() != 5 {
		t.Errorf("read %d actions in %d calls, want 250 in 5 (triggers, 3 pages, bindings)", len(st.Actions), r.Calls())
	}
	n := 0
	for _, req := range srv.Requests() {
		if req.Path != "/oauth/token" {
			n++
		}
	}
	if n != r.Calls() {
		t.Errorf("the tenant saw %d API requests, the reader counted %d", n, r.Calls())
	}
	d := st.Action("deps")
	want := []tenant.Dependency{{Name: "axios", Version: "1.7.9"}, {Name: "zod", Version: "3.0.0"}}
	if !slices.Equal(d.Dependencies, want) || d.Deployed == nil || !slices.Equal(d.Deployed.Dependencies, want) {
		t.Errorf("dependencies = %v (deployed %+v), want %v", d.Dependencies, d.Deployed, want)
	}
	if b := st.Bindings["post-login"]; len(b) != 1 || b[0].Action != "deps" || b[0].DisplayName != "Deps" {
		t.Errorf("bindings = %+v", b)
	}
}

// TestReadFailureIsAnError: a tenant that fails every request gives an
// error, never a smaller live state.
func TestReadFailureIsAnError(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{Node: "-"})
	create(t, srv, "a")
	srv.SetFaults(1)
	st, err := reader(srv).Read(t.Context())
	if err == nil || st != nil {
		t.Fatalf("Read = %+v, %v; want an error", st, err)
	}
}

// afterListPage is a second writer: after a page of actions is served, it
// runs write (until write says stop).
type afterListPage struct {
	base  http.RoundTripper
	write func() (more bool)
	done  bool
}

func (d *afterListPage) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := d.base.RoundTrip(r)
	if !d.done && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/actions/actions") {
		d.done = !d.write()
	}
	return resp, err
}

func readerWith(t *testing.T, srv *tenanttest.Server, rt http.RoundTripper) *live.Reader {
	return live.NewReader(live.NewClient(srv.NewClient(t, management.WithClient(&http.Client{Transport: rt}))))
}

// TestChangingListIsReadAgain: when a second writer deletes actions between
// the pages of a read, the list is read again from the start, never
// returned with actions skipped or kept (which would plan creates or
// updates of what is gone).
func TestChangingListIsReadAgain(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{Node: "-", MaxActions: 1000})
	var ids []string
	for i := range 150 {
		ids = append(ids, create(t, srv, fmt.Sprintf("a-%03d", i)).GetID())
	}
	r := readerWith(t, srv, &afterListPage{base: srv.HTTP.Transport, write: func() bool {
		for _, id := range ids[:80] {
			if err := srv.API.Action.Delete(t.Context(), id); err != nil {
				t.Error(err)
			}
		}
		return false
	}})
	got, err := r.Actions(t.Context())
	if err != nil || len(got) != 70 || r.Calls() != 3 {
		t.Errorf("Actions = %d actions, %v, in %d calls; want the 70 left, read again from the start (3 calls)", len(got), err, r.Calls())
	}
}

// TestListThatKeepsChangingIsAnError: a list that changes under every read
// is an error after a few tries.
func TestListThatKeepsChangingIsAnError(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{Node: "-", MaxActions: 1000})
	for i := range 150 {
		create(t, srv, fmt.Sprintf("a-%03d", i))
	}
	n := 0
	r := readerWith(t, srv, &afterListPage{base: srv.HTTP.Transport, write: func() bool {
		n++
		create(t, srv, fmt.Sprintf("b-%03d", n))
		return true
	}})
	if _, err := r.Actions(t.Context()); !errors.Is(err, live.ErrChanged) {
		t.Errorf("Actions = %v, want ErrChanged", err)
	}
	scanned, err := r.Scan(t.Context())
	if err != nil || len(scanned) < 150 {
		t.Errorf("Scan = %d actions, %v; want every action some page saw, no error", len(scanned), err)
	}
}

// TestVersionsOnlyForCandidates: versions are read for an action whose
// draft differs from the commit, and for no other; and not even then when
// the listing shows its only version (version 1, deployed).
func TestVersionsOnlyForCandidates(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{Node: "-"})
	same := &manifest.Action{Name: "same", Trigger: tenant.TriggerRef{ID: "post-login", Version: "v3"}, Runtime: "node22", Code: code}
	createWith(t, srv, "same", stamp.For(same, stamp.DefaultOwner, "c1", nil).Code(code))
	twice := create(t, srv, "changed")
	if _, err := srv.API.Action.Deploy(t.Context(), twice.GetID()); err != nil {
		t.Fatal(err)
	}
	create(t, srv, "changed-once")
	changed, changedOnce := *same, *same
	changed.Name, changed.Code = "changed", "// new"
	changedOnce.Name, changedOnce.Code = "changed-once", "// new"
	desired := &manifest.Repo{Actions: []*manifest.Action{&changed, &changedOnce, same}}
	r := reader(srv)
	st, err := r.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	before := r.Calls()
	if err := r.ReadVersions(t.Context(), st, diff.RollbackCandidates(desired, st, diff.Options{})); err != nil {
		t.Fatal(err)
	}
	if n := r.Calls() - before; n != 1 {
		t.Errorf("%d versions reads, want 1 (changed's)", n)
	}
	for name, want := range map[string][]int{"changed": {2, 1}, "changed-once": {1}, "same": {1}} {
		var got []int
		for _, v := range st.Action(name).Versions {
			got = append(got, v.Number)
		}
		if !slices.Equal(got, want) {
			t.Errorf("versions of %s = %v, want %v", name, got, want)
		}
	}
}

// TestActionReadsBuildErrors: one action read carries a failed build's
// errors, which go-auth0's Action type leaves out.
func TestActionReadsBuildErrors(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{Node: "-"})
	bad := []management.ActionDependency{{Name: auth0.String("lodash"), Version: auth0.String("not a version")}}
	a := create(t, srv, "bad", bad...)
	got, err := reader(srv).Action(t.Context(), a.GetID())
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != tenant.StatusFailed || len(got.BuildErrors) != 1 || !strings.Contains(got.BuildErrors[0], "lodash@not a version") {
		t.Errorf("action = status %s, errors %q; want failed with the dependency's error", got.Status, got.BuildErrors)
	}
	var me management.Error
	if _, err := reader(srv).Action(t.Context(), "no-such-id"); !errors.As(err, &me) || me.Status() != http.StatusNotFound {
		t.Errorf("reading a missing action: %v, want a 404 management.Error", err)
	}
}

// post sends body to /api/v2/actions/{path} through go-auth0's plain
// request, and returns the answer.
func post(t *testing.T, srv *tenanttest.Server, path, body string) map[string]any {
	t.Helper()
	payload := map[string]any{}
	if err := json.Unmarshal([]byte(body), &payload); err != nil {
		t.Fatal(err)
	}
	if err := srv.API.Request(t.Context(), http.MethodPost, srv.API.URI(append([]string{"actions"}, strings.Split(path, "/")...)...), &payload); err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return payload
}

// TestReadModules reads 101 modules in two pages of 100, a module's
// versions newest first, and the module pins of an action's draft, its
// deployed version and its versions.
func TestReadModules(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{Node: "-", MaxModules: 150})
	for i := range 100 {
		post(t, srv, "modules", fmt.Sprintf(`{"name":"m-%03d","code":"exports.v = %d;","publish":true}`, i, i))
	}
	id := post(t, srv, "modules", `{"name":"shared","code":"exports.v = 1;","publish":true,"dependencies":[{"name":"lodash","version":"4.17.21"}],"secrets":[{"name":"K","value":"v"}]}`)["id"].(string)
	srv.API.Request(t.Context(), http.MethodPatch, srv.API.URI("actions", "modules", id), &map[string]any{"code": "exports.v = 2;"})
	post(t, srv, "modules/"+id+"/versions", `{}`)
	a := post(t, srv, "actions", `{"name":"uses","supported_triggers":[{"id":"post-login","version":"v3"}],"code":"x","modules":[{"module_name":"shared","module_version_number":1}],"deploy":true}`)
	srv.API.Request(t.Context(), http.MethodPatch, srv.API.URI("actions", "actions", a["id"].(string)), &map[string]any{"modules": []any{map[string]any{"module_name": "shared", "module_version_number": 2}}})

	srv.ResetRequests()
	r := reader(srv)
	st, err := r.Read(t.Context())
	if err == nil {
		err = r.ReadModules(t.Context(), st)
	}
	if err == nil {
		err = r.ReadModuleVersions(t.Context(), st, []string{"shared", "not-there"})
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Modules) != 101 || r.Calls() != 5 {
		t.Errorf("read %d modules in %d calls, want 101 in 5 (triggers, actions, 2 pages of modules, versions)", len(st.Modules), r.Calls())
	}
	m := st.Module("shared")
	if m == nil || m.Latest != 2 || !m.Published || !slices.Equal(m.Secrets, []string{"K"}) || len(m.Dependencies) != 1 {
		t.Fatalf("shared = %+v", m)
	}
	if len(m.Versions) != 2 || m.Versions[0].Number != 2 || m.Versions[1].Code != "exports.v = 1;" || m.Version(1) == nil {
		t.Errorf("versions = %+v, want 2 then 1", m.Versions)
	}
	l := st.Action("uses")
	pin := func(refs []tenant.ModuleRef) string {
		if len(refs) != 1 || refs[0].ModuleID != id || refs[0].VersionID == "" {
			return fmt.Sprint(refs)
		}
		return fmt.Sprintf("%s@%d", refs[0].Module, refs[0].Version)
	}
	if got := pin(l.Modules) + " " + pin(l.Deployed.Modules); got != "shared@2 shared@1" {
		t.Errorf("pins of the draft and the deployed version: %s, want shared@2 shared@1", got)
	}
	vs, err := r.Versions(t.Context(), l.ID, l.Runtime)
	if err != nil || len(vs) != 1 || pin(vs[0].Modules) != "shared@1" {
		t.Errorf("versions: %v %+v", err, vs)
	}
}
