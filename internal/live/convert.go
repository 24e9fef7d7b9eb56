package live

import (
	"encoding/json"

	"github.com/actionsync/actionsync/internal/tenant"
	"github.com/auth0/go-auth0/management"
)

// listedAction is an action as the API answers it, with the fields
// go-auth0's Action lacks: a failed build's errors, the Marketplace
// integration it was installed from, its newest version's number, and the
// modules its deployed version pins.
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
	deployedModules []moduleRef
}

// moduleRef is a module pin as the API spells it (ActionModuleReference).
type moduleRef struct {
	ModuleID      string `json:"module_id"`
	ModuleName    string `json:"module_name"`
	VersionID     string `json:"module_version_id"`
	VersionNumber int    `json:"module_version_number"`
}

// UnmarshalJSON reads the action, and the module pins of its deployed
// version, which go-auth0's ActionVersion drops.
func (a *listedAction) UnmarshalJSON(b []byte) error {
	type fields listedAction
	if err := json.Unmarshal(b, (*fields)(a)); err != nil {
		return err
	}
	var deployed struct {
		Version *struct {
			Modules []moduleRef `json:"modules"`
		} `json:"deployed_version"`
	}
	if err := json.Unmarshal(b, &deployed); err != nil {
		return err
	}
	if deployed.Version != nil {
		a.deployedModules = deployed.Version.Modules
	}
	return nil
}

// listedVersion is an action version as the API answers it, with the
// module pins go-auth0's ActionVersion lacks.
type listedVersion struct {
	management.ActionVersion
	Modules []moduleRef `json:"modules"`
}

func (v *listedVersion) model(runtime string) tenant.Version {
	out := *version(&v.ActionVersion, runtime)
	out.Modules = pins(v.Modules)
	return out
}

func pins(refs []moduleRef) []tenant.ModuleRef {
	var out []tenant.ModuleRef
	for _, r := range refs {
		out = append(out, tenant.ModuleRef{ModuleID: r.ModuleID, Module: r.ModuleName, VersionID: r.VersionID, Version: r.VersionNumber})
	}
	return out
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
	if a.Modules != nil {
		for _, m := range *a.Modules {
			out.Modules = append(out.Modules, tenant.ModuleRef{
				ModuleID: m.GetModuleID(), Module: m.GetModuleName(), VersionID: m.GetModuleVersionID(), Version: m.GetModuleVersionNumber(),
			})
		}
	}
	if v := a.DeployedVersion; v != nil {
		out.Deployed = version(v, out.Runtime)
		out.Deployed.Modules = pins(a.deployedModules)
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
