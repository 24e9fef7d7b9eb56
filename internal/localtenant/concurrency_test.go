package localtenant_test

import (
	"fmt"
	gosync "sync"
	"testing"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

// TestConcurrentClients: eight clients create, update, deploy, bind and
// list at once (run with -race); every action ends deployed at version 3
// and the binding list holds each action once.
func TestConcurrentClients(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{Node: "-", StatePath: t.TempDir() + "/state.json"})
	var wg gosync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			api := srv.NewClient(t, management.WithNoRetries()).Action
			ctx := t.Context()
			a := newAction(fmt.Sprintf("worker-%d", w))
			a.Deploy = auth0.Bool(true)
			if err := api.Create(ctx, a); err != nil {
				errs <- err
				return
			}
			for i := range 2 {
				upd := &management.Action{Name: a.Name, SupportedTriggers: a.SupportedTriggers, Code: auth0.String(fmt.Sprintf("// %d", i))}
				if err := api.Update(ctx, a.GetID(), upd); err != nil {
					errs <- err
					return
				}
				if _, err := api.Deploy(ctx, a.GetID()); err != nil {
					errs <- err
					return
				}
				if _, err := api.List(ctx); err != nil {
					errs <- err
				}
			}
			// Each worker writes the whole list with itself last: the tenant
			// must stay consistent whichever write wins.
			if err := api.UpdateBindings(ctx, "post-login", []*management.ActionBinding{{
				Ref: &management.ActionBindingReference{Type: auth0.String("action_id"), Value: a.ID},
			}}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	l, err := srv.API.Action.List(t.Context(), management.PerPage(100))
	if err != nil || l.Total != 8 {
		t.Fatalf("list: %v, %d actions", err, l.Total)
	}
	for _, a := range l.Actions {
		if a.DeployedVersion == nil || a.DeployedVersion.Number != 3 {
			t.Errorf("%s: deployed %+v, want version 3", a.GetName(), a.DeployedVersion)
		}
	}
	bl, _ := srv.API.Action.Bindings(t.Context(), "post-login")
	if len(bl.Bindings) != 1 {
		t.Errorf("%d bindings, want the one of the last write", len(bl.Bindings))
	}
}
