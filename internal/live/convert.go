package live

import (
	"github.com/actionsync/actionsync/internal/tenant"
	"github.com/auth0/go-auth0/management"
)

// listedAction is an action as the API answers it, with the fields
// go-auth0's Action lacks: a failed build's errors, the Marketplace
// integration it was installed from, and its newest version's number.
type listedAction struct {
	management.Action
	Errors []struct {
		Msg string `json:"msg"`
	} `json:"errors"`
	InstalledIntegrationID string          `json:"installed_integration_id"`
	Integration            *map[string]any `json:"integration"`
	CurrentVersion         *struct {
		ID     string `json:"id"`
		Number int    `json:"number"`
	} `json:"current_version"`
}

func (a *listedAction) model() *tenant.Action {
	out := &tenant.Action{
		ID: a.GetID(), Name: a.GetName(), Code: a.GetCode(), Runtime: a.GetRuntime(),
		Status:      tenant.BuildStatus(a.GetStatus()),
		Integration: a.InstalledIntegrationID != "" || a.Integration != nil,
	}
	if len(a.SupportedTriggers) > 0 {
		out.Trigger = tenant.TriggerRef{ID: a.SupportedTriggers[0].GetID(), Version: a.SupportedTriggers[0].GetVersion()}
	}
	if a.Dependencies != nil {
		out.Dependencies = deps(*a.Dependencies)
	}
	if a.Secrets != nil {
		for _, s := range *a.Secrets {
			out.Secrets = append(out.Secrets, s.GetName())
		}
	}
	for _, e := range a.Errors {
		out.BuildErrors = append(out.BuildErrors, e.Msg)
	}
	if v := a.DeployedVersion; v != nil {
		out.Deployed = version(v, out.Runtime)
		if c := a.CurrentVersion; c != nil && c.Number == 1 && c.ID == out.Deployed.ID {
			// Version 1 is the newest and the deployed one: the only one
			// there ever was, and the listing holds it whole. Its versions
			// are known without reading them.
			out.Versions = []tenant.Version{*out.Deployed}
		}
	}
	return out
}

func version(v *management.ActionVersion, runtime string) *tenant.Version {
	ds := make([]management.ActionDependency, len(v.Dependencies))
	for i, d := range v.Dependencies {
		ds[i] = *d
	}
	// go-auth0's ActionVersion drops the version's runtime; a deployed
	// version and its action share it unless the draft changed it, which
	// shows as a draft difference anyway.
	return &tenant.Version{ID: v.GetID(), Number: v.Number, Code: v.GetCode(), Runtime: runtime, Dependencies: deps(ds)}
}

// deps normalises dependencies as the tenant keeps them: sorted by name,
// without registry_url, which the tenant drops after a build.
func deps(in []management.ActionDependency) []tenant.Dependency {
	if len(in) == 0 {
		return nil
	}
	out := make([]tenant.Dependency, len(in))
	for i, d := range in {
		out[i] = tenant.Dependency{Name: d.GetName(), Version: d.GetVersion()}
	}
	tenant.SortDependencies(out)
	return out
}
