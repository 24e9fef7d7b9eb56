package localtenant

import (
	"strings"
	"time"

	"github.com/actionsync/actionsync/internal/tenant"
)

// The response shapes below follow the recorded responses of the real API
// key for key; fields the API leaves out when empty are omitempty here too.

type secretOut struct {
	Name      string `json:"name"`
	UpdatedAt string `json:"updated_at"`
}

type actionOut struct {
	ID                 string             `json:"id"`
	Name               string             `json:"name"`
	SupportedTriggers  []TriggerRef       `json:"supported_triggers"`
	CreatedAt          string             `json:"created_at"`
	UpdatedAt          string             `json:"updated_at"`
	Code               string             `json:"code"`
	Dependencies       []dependency       `json:"dependencies"`
	Runtime            string             `json:"runtime"`
	Status             tenant.BuildStatus `json:"status"`
	Secrets            []secretOut        `json:"secrets"`
	Modules            []moduleRef        `json:"modules,omitempty"`
	Errors             []buildError       `json:"errors,omitempty"`
	CurrentVersion     *currentOut        `json:"current_version,omitempty"`
	DeployedVersion    *versionOut        `json:"deployed_version,omitempty"`
	InstalledID        string             `json:"installed_integration_id,omitempty"`
	Integration        *Integration       `json:"integration,omitempty"`
	AllChangesDeployed bool               `json:"all_changes_deployed"`
}

type currentOut struct {
	ID        string `json:"id"`
	Code      string `json:"code"`
	Runtime   string `json:"runtime"`
	Status    string `json:"status"`
	Number    int    `json:"number"`
	BuildTime string `json:"build_time,omitempty"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

type versionOut struct {
	Code              string             `json:"code"`
	Dependencies      []dependency       `json:"dependencies"`
	ID                string             `json:"id"`
	Deployed          bool               `json:"deployed"`
	Number            int                `json:"number"`
	BuiltAt           string             `json:"built_at,omitempty"`
	Secrets           []secretOut        `json:"secrets"`
	Modules           []moduleRef        `json:"modules,omitempty"`
	Status            tenant.BuildStatus `json:"status"`
	Errors            []buildError       `json:"errors,omitempty"`
	CreatedAt         string             `json:"created_at"`
	UpdatedAt         string             `json:"updated_at"`
	Runtime           string             `json:"runtime"`
	SupportedTriggers []TriggerRef       `json:"supported_triggers"`
	Action            *actionSummary     `json:"action,omitempty"`
}

type actionSummary struct {
	ID                 string       `json:"id"`
	Name               string       `json:"name"`
	SupportedTriggers  []TriggerRef `json:"supported_triggers"`
	CreatedAt          string       `json:"created_at"`
	UpdatedAt          string       `json:"updated_at"`
	CurrentVersion     *currentOut  `json:"current_version,omitempty"`
	DeployedVersion    *versionOut  `json:"deployed_version,omitempty"`
	AllChangesDeployed bool         `json:"all_changes_deployed"`
}

type bindingOut struct {
	ID          string         `json:"id"`
	TriggerID   string         `json:"trigger_id"`
	Action      *actionSummary `json:"action"`
	CreatedAt   string         `json:"created_at"`
	UpdatedAt   string         `json:"updated_at"`
	DisplayName string         `json:"display_name"`
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func secretsOut(ss []secret) []secretOut {
	out := make([]secretOut, 0, len(ss))
	for _, s := range ss {
		out = append(out, secretOut{Name: s.Name, UpdatedAt: ts(s.UpdatedAt)})
	}
	return out
}

// depsOut drops registry_url once a build has resolved the packages, as the
// real API does.
func depsOut(deps []dependency, built bool) []dependency {
	out := make([]dependency, 0, len(deps))
	for _, d := range deps {
		if built {
			d.RegistryURL = ""
		}
		out = append(out, d)
	}
	return out
}

func triggersOut(ts []TriggerRef) []TriggerRef {
	if ts == nil {
		return []TriggerRef{}
	}
	return ts
}

func (t *Tenant) renderAction(a *action, now time.Time) *actionOut {
	status := a.draftStatus(now, t.opts.BuildDelay)
	out := &actionOut{
		ID:                 a.ID,
		Name:               a.Name,
		SupportedTriggers:  triggersOut(a.Draft.Triggers),
		CreatedAt:          ts(a.CreatedAt),
		UpdatedAt:          ts(a.UpdatedAt),
		Code:               a.Draft.Code,
		Dependencies:       depsOut(a.Draft.Deps, status == tenant.StatusBuilt || status == tenant.StatusFailed),
		Runtime:            a.Draft.Runtime,
		Status:             status,
		Secrets:            secretsOut(a.Secrets),
		Modules:            a.Draft.Modules,
		CurrentVersion:     t.renderCurrent(a.latest()),
		DeployedVersion:    t.renderVersion(a, a.deployed(), true, false),
		AllChangesDeployed: allDeployed(a),
	}
	if status == tenant.StatusFailed {
		out.Errors = a.BuildErrs
	}
	if a.Integration != nil {
		out.InstalledID, out.Integration = "inst_"+a.Integration.ID, a.Integration
	}
	return out
}

func allDeployed(a *action) bool {
	d := a.deployed()
	return d != nil && d.Content.sameAs(a.Draft)
}

func (t *Tenant) renderCurrent(v *version) *currentOut {
	if v == nil {
		return nil
	}
	status := v.status(t.opts.Now(), t.opts.BuildDelay)
	return &currentOut{
		ID: v.ID, Code: v.Content.Code, Runtime: v.Content.Runtime,
		Status: strings.ToUpper(string(status)), Number: v.Number, BuildTime: builtAt(v, status),
		CreatedAt: ts(v.CreatedAt), UpdatedAt: ts(v.UpdatedAt),
	}
}

func builtAt(v *version, status tenant.BuildStatus) string {
	if status != tenant.StatusBuilt {
		return ""
	}
	return ts(v.ReadyAt)
}

// renderVersion renders v; fresh marks the answer to a deploy call, which the
// API sends before the version is live (deployed false, no built_at).
func (t *Tenant) renderVersion(a *action, v *version, embedded, fresh bool) *versionOut {
	if v == nil {
		return nil
	}
	status := v.status(t.opts.Now(), t.opts.BuildDelay)
	out := &versionOut{
		Code:              v.Content.Code,
		Dependencies:      depsOut(v.Content.Deps, true),
		ID:                v.ID,
		Deployed:          !fresh && v.ID == a.DeployedID,
		Number:            v.Number,
		BuiltAt:           builtAt(v, status),
		Secrets:           secretsOut(v.Secrets),
		Modules:           v.Content.Modules,
		Status:            status,
		Errors:            v.Errors,
		CreatedAt:         ts(v.CreatedAt),
		UpdatedAt:         ts(v.UpdatedAt),
		Runtime:           v.Content.Runtime,
		SupportedTriggers: triggersOut(v.Content.Triggers),
	}
	if fresh {
		out.BuiltAt = ""
	}
	if !embedded {
		out.Action = t.summary(a, false)
	}
	return out
}

func (t *Tenant) summary(a *action, withVersions bool) *actionSummary {
	s := &actionSummary{
		ID: a.ID, Name: a.Name, SupportedTriggers: triggersOut(a.Draft.Triggers),
		CreatedAt: ts(a.CreatedAt), UpdatedAt: ts(a.UpdatedAt), AllChangesDeployed: allDeployed(a),
	}
	if withVersions {
		s.CurrentVersion = t.renderCurrent(a.latest())
		s.DeployedVersion = t.renderVersion(a, a.deployed(), true, false)
	}
	return s
}

func (t *Tenant) renderBinding(trigger string, b *binding, a *action) *bindingOut {
	return &bindingOut{
		ID: b.ID, TriggerID: trigger, Action: t.summary(a, true),
		CreatedAt: ts(b.CreatedAt), UpdatedAt: ts(b.UpdatedAt), DisplayName: b.DisplayName,
	}
}

// moduleOut is an Action Module as GET /actions/modules/{id} answers it;
// in a list, without latest_version (ActionModuleListItem).
type moduleOut struct {
	ID                  string            `json:"id"`
	Name                string            `json:"name"`
	Code                string            `json:"code"`
	Dependencies        []dependency      `json:"dependencies"`
	Secrets             []secretOut       `json:"secrets"`
	AllChangesPublished bool              `json:"all_changes_published"`
	ActionsUsing        int               `json:"actions_using_module_total"`
	LatestVersionNumber int               `json:"latest_version_number,omitempty"`
	CreatedAt           string            `json:"created_at"`
	UpdatedAt           string            `json:"updated_at"`
	LatestVersion       *moduleVersionOut `json:"latest_version,omitempty"`
}

// moduleVersionOut is one published version (ActionModuleVersion); as a
// module's latest_version (ActionModuleVersionReference), without module_id.
type moduleVersionOut struct {
	ID           string       `json:"id"`
	ModuleID     string       `json:"module_id,omitempty"`
	Number       int          `json:"version_number"`
	Code         string       `json:"code"`
	Secrets      []secretOut  `json:"secrets"`
	Dependencies []dependency `json:"dependencies"`
	CreatedAt    string       `json:"created_at"`
}

func (t *Tenant) renderModule(m *module, withLatest bool) *moduleOut {
	out := &moduleOut{
		ID: m.ID, Name: m.Name, Code: m.Draft.Code,
		Dependencies:        depsOut(m.Draft.Deps, true),
		Secrets:             secretsOut(m.Draft.Secrets),
		AllChangesPublished: m.published(),
		ActionsUsing:        len(t.moduleUsers(m.ID)),
		CreatedAt:           ts(m.CreatedAt), UpdatedAt: ts(m.UpdatedAt),
	}
	l := m.latest()
	if l == nil {
		return out
	}
	out.LatestVersionNumber = l.Number
	if withLatest {
		out.LatestVersion = renderModuleVersion(m, l)
		out.LatestVersion.ModuleID = ""
	}
	return out
}

func renderModuleVersion(m *module, v *moduleVersion) *moduleVersionOut {
	return &moduleVersionOut{
		ID: v.ID, ModuleID: m.ID, Number: v.Number, Code: v.Content.Code,
		Secrets: secretsOut(v.Content.Secrets), Dependencies: depsOut(v.Content.Deps, true), CreatedAt: ts(v.CreatedAt),
	}
}
