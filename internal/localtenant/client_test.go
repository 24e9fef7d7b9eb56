package localtenant_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

const buildDelay = 2 * time.Second

func newAction(name string) *management.Action {
	return &management.Action{
		Name:              auth0.String(name),
		SupportedTriggers: []management.ActionTrigger{{ID: auth0.String("post-login"), Version: auth0.String("v3")}},
		Code:              auth0.String("exports.onExecutePostLogin = async (event, api) => {};"),
		Dependencies: &[]management.ActionDependency{{
			Name: auth0.String("lodash"), Version: auth0.String("4.17.21"),
			RegistryURL: auth0.String("https://www.npmjs.com/package/lodash"),
		}},
		Secrets: &[]management.ActionSecret{{Name: auth0.String("API_KEY"), Value: auth0.String("s3cret")}},
	}
}

func status(err error) int {
	var me management.Error
	if errors.As(err, &me) {
		return me.Status()
	}
	return 0
}

// TestActionLifecycle drives every Actions method of go-auth0 against the
// local tenant: create, read, list, update, build, deploy, versions,
// rollback, bindings, test, executions, triggers and delete.
func TestActionLifecycle(t *testing.T) {
	clock := tenanttest.NewClock()
	srv := tenanttest.Start(t, localtenant.Options{BuildDelay: buildDelay, Now: clock.Now})
	api := srv.API.Action
	ctx := t.Context()

	a := newAction("enrich-profile")
	if err := api.Create(ctx, a); err != nil {
		t.Fatalf("create: %v", err)
	}
	if a.GetID() == "" || a.GetStatus() != "pending" || a.GetRuntime() != "node22" {
		t.Fatalf("created action: id %q status %q runtime %q, want an id, pending, node22", a.GetID(), a.GetStatus(), a.GetRuntime())
	}
	// go-auth0 decodes into the struct it sent, so read the action afresh.
	if read, err := api.Read(ctx, a.GetID()); err != nil || (*read.Secrets)[0].Value != nil || (*read.Secrets)[0].UpdatedAt == nil {
		t.Errorf("secret read back: %v %+v; want a name and a time, never a value", err, read.Secrets)
	}
	if err := api.Create(ctx, newAction("enrich-profile")); status(err) != http.StatusConflict {
		t.Errorf("second create with the same name: got %v, want 409", err)
	}

	t.Run("deploy before built", func(t *testing.T) {
		_, err := api.Deploy(ctx, a.GetID())
		if status(err) != http.StatusBadRequest {
			t.Fatalf("deploy of a pending draft: got %v, want 400", err)
		}
	})

	clock.Advance(buildDelay / 2)
	if got, _ := api.Read(ctx, a.GetID()); got.GetStatus() != "building" {
		t.Errorf("status halfway through the build = %q, want building", got.GetStatus())
	}
	clock.Advance(buildDelay)
	got, err := api.Read(ctx, a.GetID())
	if err != nil || got.GetStatus() != "built" {
		t.Fatalf("read after the build: %v, status %q", err, got.GetStatus())
	}
	if dep := (*got.Dependencies)[0]; dep.RegistryURL != nil {
		t.Errorf("built draft kept registry_url %q; the API drops it", dep.GetRegistryURL())
	}

	v1, err := api.Deploy(ctx, a.GetID())
	if err != nil || v1.Number != 1 || v1.Deployed {
		t.Fatalf("deploy: %v, number %d deployed %v; want number 1, not yet deployed", err, v1.Number, v1.Deployed)
	}
	got, _ = api.Read(ctx, a.GetID())
	if got.DeployedVersion.GetID() != v1.GetID() || !got.AllChangesDeployed {
		t.Errorf("after deploy: deployed_version %q all_changes_deployed %v, want %q true", got.DeployedVersion.GetID(), got.AllChangesDeployed, v1.GetID())
	}

	// Update the code and deploy version 2.
	upd := &management.Action{
		Name:              a.Name,
		SupportedTriggers: a.SupportedTriggers,
		Code:              auth0.String("exports.onExecutePostLogin = async (event, api) => { api.user.setUserMetadata('seen', true); };"),
	}
	if err := api.Update(ctx, a.GetID(), upd); err != nil {
		t.Fatalf("update: %v", err)
	}
	if got, _ := api.Read(ctx, a.GetID()); got.AllChangesDeployed {
		t.Errorf("all_changes_deployed after an undeployed update = true")
	}
	clock.Advance(buildDelay)
	v2, err := api.Deploy(ctx, a.GetID())
	if err != nil || v2.Number != 2 {
		t.Fatalf("deploy 2: %v, number %d", err, v2.Number)
	}

	vl, err := api.Versions(ctx, a.GetID())
	if err != nil || vl.Total != 2 || vl.Versions[0].Number != 2 {
		t.Fatalf("versions: %v, total %d; want 2, newest first", err, vl.Total)
	}
	if v, err := api.Version(ctx, a.GetID(), v1.GetID()); err != nil || v.Deployed || v.GetCode() != newAction("").GetCode() {
		t.Errorf("version 1: %v deployed %v code %q", err, v.Deployed, v.GetCode())
	}

	t.Run("rollback", func(t *testing.T) {
		// go-auth0 sends no body here; the sync engine adds update_draft.
		v3, err := api.DeployVersion(ctx, a.GetID(), v1.GetID(), management.Body([]byte(`{"update_draft":true}`)))
		if err != nil || v3.Number != 3 || v3.GetCode() != v1.GetCode() {
			t.Fatalf("rollback: %v number %d code %q", err, v3.Number, v3.GetCode())
		}
		got, _ := api.Read(ctx, a.GetID())
		if got.GetCode() != v1.GetCode() || got.GetStatus() != "built" || !got.AllChangesDeployed {
			t.Errorf("draft after rollback with update_draft: code %q status %q all deployed %v", got.GetCode(), got.GetStatus(), got.AllChangesDeployed)
		}
	})

	t.Run("bindings", func(t *testing.T) {
		other := newAction("never-deployed")
		if err := api.Create(ctx, other); err != nil {
			t.Fatal(err)
		}
		ref := func(kind, v string) *management.ActionBinding {
			return &management.ActionBinding{Ref: &management.ActionBindingReference{Type: auth0.String(kind), Value: auth0.String(v)}}
		}
		err := api.UpdateBindings(ctx, "post-login", []*management.ActionBinding{ref("action_name", "never-deployed")})
		if status(err) != http.StatusBadRequest {
			t.Errorf("binding an undeployed action: got %v, want 400", err)
		}
		err = api.UpdateBindings(ctx, "credentials-exchange", []*management.ActionBinding{ref("action_id", a.GetID())})
		if status(err) != http.StatusBadRequest {
			t.Errorf("binding to the wrong trigger: got %v, want 400", err)
		}
		b := ref("action_id", a.GetID())
		b.DisplayName = auth0.String("Enrich")
		if err := api.UpdateBindings(ctx, "post-login", []*management.ActionBinding{b}); err != nil {
			t.Fatalf("bind: %v", err)
		}
		bl, err := api.Bindings(ctx, "post-login")
		if err != nil || len(bl.Bindings) != 1 || bl.Bindings[0].Action.GetName() != "enrich-profile" || bl.Bindings[0].GetDisplayName() != "Enrich" {
			t.Fatalf("bindings: %v %+v", err, bl)
		}
		if err := api.Delete(ctx, a.GetID()); status(err) != http.StatusConflict {
			t.Errorf("delete of a bound action: got %v, want 409", err)
		}
	})

	t.Run("list", func(t *testing.T) {
		l, err := api.List(ctx, management.Parameter("actionName", "enrich-profile"))
		if err != nil || l.Total != 1 || l.Actions[0].GetID() != a.GetID() {
			t.Fatalf("list by name: %v %+v", err, l)
		}
		l, err = api.List(ctx, management.Parameter("deployed", "true"))
		if err != nil || l.Total != 1 {
			t.Errorf("list deployed: %v total %d, want 1", err, l.Total)
		}
		l, err = api.List(ctx, management.PerPage(1), management.Page(1))
		if err != nil || l.Total != 2 || len(l.Actions) != 1 || l.Actions[0].GetName() != "never-deployed" {
			t.Errorf("list page 1 of 1: %v %+v", err, l)
		}
		if _, err := api.List(ctx, management.PerPage(101)); status(err) != http.StatusBadRequest {
			t.Errorf("per_page 101: got %v, want 400", err)
		}
	})

	t.Run("triggers", func(t *testing.T) {
		tl, err := api.Triggers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, 0, len(tl.Triggers))
		for _, tr := range tl.Triggers {
			ids = append(ids, tr.GetID())
		}
		for _, want := range []string{"post-login", "credentials-exchange", "pre-user-registration"} {
			if !slices.Contains(ids, want) {
				t.Errorf("trigger %s missing from %v", want, ids)
			}
		}
	})

	t.Run("execution not found", func(t *testing.T) {
		if _, err := api.Execution(ctx, "M9IqRp9wQLaYNrSwz6YPTTIwMjEwNDA0"); status(err) != http.StatusNotFound {
			t.Errorf("unknown execution: got %v, want 404", err)
		}
	})

	t.Run("force delete", func(t *testing.T) {
		if err := api.Delete(ctx, a.GetID(), management.Parameter("force", "true")); err != nil {
			t.Fatalf("force delete: %v", err)
		}
		if _, err := api.Read(ctx, a.GetID()); status(err) != http.StatusNotFound {
			t.Errorf("read after delete: got %v, want 404", err)
		}
		bl, _ := api.Bindings(ctx, "post-login")
		if len(bl.Bindings) != 0 {
			t.Errorf("bindings after force delete: %d, want 0", len(bl.Bindings))
		}
	})
}

// TestFailedBuild: a dependency that cannot exist fails the build with
// errors, and the draft cannot be deployed.
func TestFailedBuild(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{})
	api := srv.API.Action
	ctx := t.Context()
	a := newAction("bad-deps")
	(*a.Dependencies)[0].Version = auth0.String("not-a-version!")
	if err := api.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	if a.GetStatus() != "failed" {
		t.Fatalf("status = %q, want failed", a.GetStatus())
	}
	if _, err := api.Deploy(ctx, a.GetID()); status(err) != http.StatusBadRequest {
		t.Errorf("deploy of a failed draft: got %v, want 400", err)
	}
}

func TestAuth(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{})
	for _, tc := range []struct {
		name   string
		header string
		want   int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"not bearer", "Basic abc", http.StatusUnauthorized},
		{"forged token", "Bearer abc.def.ghi", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/v2/actions/actions", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := srv.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	t.Run("wrong client secret", func(t *testing.T) {
		resp, err := srv.HTTP.PostForm(srv.URL+"/oauth/token", map[string][]string{
			"grant_type": {"client_credentials"}, "client_id": {tenanttest.ClientID}, "client_secret": {"nope"},
		})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", resp.StatusCode)
		}
	})
}
