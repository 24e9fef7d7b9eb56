package tenanttest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

// Action is an action made through the API, as a person makes one in the
// dashboard: no stamp, unless Code carries one.
type Action struct {
	Name    string
	Trigger string // its id; the tenant's current version
	Code    string
	Runtime string            // "" for the tenant's default
	Deps    map[string]string // package → version
	Secrets map[string]string // name → value
	// Deploy deploys the action once built.
	Deploy bool
	// Draft, when set, then replaces the draft's code, not deployed: a
	// draft ahead of the deployed version.
	Draft string
}

// Seed creates each action through api, waits for its build, deploys it
// when asked, and returns the ids by name.
func Seed(tb testing.TB, api *management.Management, actions ...Action) map[string]string {
	tb.Helper()
	ctx := context.Background()
	ids := map[string]string{}
	for _, a := range actions {
		body := &management.Action{
			Name: auth0.String(a.Name), Code: auth0.String(a.Code),
			SupportedTriggers: []management.ActionTrigger{{ID: auth0.String(a.Trigger), Version: auth0.String(currentVersion(tb, api, a.Trigger))}},
		}
		if a.Runtime != "" {
			body.Runtime = auth0.String(a.Runtime)
		}
		deps := []management.ActionDependency{}
		for name, v := range a.Deps {
			deps = append(deps, management.ActionDependency{Name: auth0.String(name), Version: auth0.String(v)})
		}
		secrets := []management.ActionSecret{}
		for name, v := range a.Secrets {
			secrets = append(secrets, management.ActionSecret{Name: auth0.String(name), Value: auth0.String(v)})
		}
		body.Dependencies, body.Secrets = &deps, &secrets
		if err := api.Action.Create(ctx, body); err != nil {
			tb.Fatalf("seed %s: %v", a.Name, err)
		}
		ids[a.Name] = body.GetID()
		WaitBuilt(tb, api, body.GetID())
		if a.Deploy {
			if _, err := api.Action.Deploy(ctx, body.GetID()); err != nil {
				tb.Fatalf("seed %s: deploy: %v", a.Name, err)
			}
		}
		if a.Draft != "" {
			edit := &management.Action{Name: body.Name, SupportedTriggers: body.SupportedTriggers, Code: auth0.String(a.Draft)}
			if err := api.Action.Update(ctx, body.GetID(), edit); err != nil {
				tb.Fatalf("seed %s: draft: %v", a.Name, err)
			}
			WaitBuilt(tb, api, body.GetID())
		}
	}
	return ids
}

func currentVersion(tb testing.TB, api *management.Management, trigger string) string {
	tb.Helper()
	tl, err := api.Action.Triggers(context.Background())
	if err != nil {
		tb.Fatalf("list triggers: %v", err)
	}
	for _, t := range tl.Triggers {
		if t.GetID() == trigger && t.GetStatus() == "CURRENT" {
			return t.GetVersion()
		}
	}
	tb.Fatalf("no current version of trigger %s", trigger)
	return ""
}

// WaitBuilt polls the action until its draft is built, for at most 30
// seconds.
func WaitBuilt(tb testing.TB, api *management.Management, id string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		a, err := api.Action.Read(context.Background(), id)
		if err != nil {
			tb.Fatalf("read action %s: %v", id, err)
		}
		if a.GetStatus() == "built" {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("action %s: the build never finished", id)
}

// Bind replaces a trigger's bindings: each entry an action's name, or
// "name|Display name".
func Bind(tb testing.TB, api *management.Management, trigger string, entries ...string) {
	tb.Helper()
	bs := []*management.ActionBinding{}
	for _, e := range entries {
		name, display, ok := strings.Cut(e, "|")
		if !ok {
			display = name
		}
		bs = append(bs, &management.ActionBinding{
			Ref:         &management.ActionBindingReference{Type: auth0.String(management.ActionBindingReferenceByName), Value: auth0.String(name)},
			DisplayName: auth0.String(display),
		})
	}
	if err := api.Action.UpdateBindings(context.Background(), trigger, bs); err != nil {
		tb.Fatalf("bind %s: %v", trigger, err)
	}
}

// Order is a trigger's bindings, each "name|Display name".
func Order(tb testing.TB, api *management.Management, trigger string) []string {
	tb.Helper()
	bl, err := api.Action.Bindings(context.Background(), trigger)
	if err != nil {
		tb.Fatalf("list bindings of %s: %v", trigger, err)
	}
	var out []string
	for _, b := range bl.Bindings {
		out = append(out, b.GetAction().GetName()+"|"+b.GetDisplayName())
	}
	return out
}
