package localtenant

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/actionsync/actionsync/internal/tenant"
)

// Trigger is one entry of the trigger catalogue.
type Trigger struct {
	ID             string       `json:"id"`
	Version        string       `json:"version"`
	Status         string       `json:"status"`
	Runtimes       []string     `json:"runtimes"`
	DefaultRuntime string       `json:"default_runtime,omitempty"`
	Compatible     []TriggerRef `json:"compatible_triggers"`
}

// TriggerRef names a trigger and its version.
type TriggerRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

var current = []string{"node18", "node22"}

// catalogue is the trigger list a current tenant answers; the first entries keep
// the order of the recorded response.
var catalogue = []Trigger{
	{ID: "post-login", Version: "v1", Status: "DEPRECATED", Runtimes: []string{"node12"}, DefaultRuntime: "node12"},
	{ID: "post-login", Version: "v2", Status: "DEPRECATED", Runtimes: []string{"node12", "node16", "node18"}, DefaultRuntime: "node16"},
	{ID: "post-login", Version: "v3", Status: "CURRENT", Runtimes: current, DefaultRuntime: "node22", Compatible: []TriggerRef{{"post-login", "v2"}}},
	{ID: "credentials-exchange", Version: "v2", Status: "CURRENT", Runtimes: current, DefaultRuntime: "node22"},
	{ID: "credentials-exchange", Version: "v1", Status: "DEPRECATED", Runtimes: []string{"node12"}, DefaultRuntime: "node12"},
	{ID: "pre-user-registration", Version: "v1", Status: "DEPRECATED", Runtimes: []string{"node12"}, DefaultRuntime: "node12"},
	{ID: "pre-user-registration", Version: "v2", Status: "CURRENT", Runtimes: current, DefaultRuntime: "node22"},
	{ID: "post-user-registration", Version: "v1", Status: "DEPRECATED", Runtimes: []string{"node12"}, DefaultRuntime: "node12"},
	{ID: "post-user-registration", Version: "v2", Status: "CURRENT", Runtimes: current, DefaultRuntime: "node22"},
	{ID: "post-change-password", Version: "v2", Status: "CURRENT", Runtimes: current, DefaultRuntime: "node22"},
	{ID: "post-change-password", Version: "v1", Status: "DEPRECATED", Runtimes: []string{"node12"}, DefaultRuntime: "node12"},
	{ID: "send-phone-message", Version: "v1", Status: "DEPRECATED", Runtimes: []string{"node12"}},
	{ID: "send-phone-message", Version: "v2", Status: "CURRENT", Runtimes: current, DefaultRuntime: "node22"},
	{ID: "password-reset-post-challenge", Version: "v1", Status: "CURRENT", Runtimes: current, DefaultRuntime: "node22"},
	{ID: "custom-token-exchange", Version: "v1", Status: "CURRENT", Runtimes: current, DefaultRuntime: "node22"},
	{ID: "custom-email-provider", Version: "v1", Status: "CURRENT", Runtimes: current, DefaultRuntime: "node22"},
	{ID: "custom-phone-provider", Version: "v1", Status: "CURRENT", Runtimes: current, DefaultRuntime: "node22"},
}

// Triggers returns a copy of the trigger catalogue the tenant serves.
func Triggers() []Trigger { return slices.Clone(catalogue) }

func findTrigger(id, version string) (Trigger, bool) {
	for _, t := range catalogue {
		if t.ID == id && t.Version == version {
			return t, true
		}
	}
	return Trigger{}, false
}

func triggerKnown(id string) bool {
	return slices.ContainsFunc(catalogue, func(t Trigger) bool { return t.ID == id })
}

type dependency struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	RegistryURL string `json:"registry_url,omitempty"`
}

type secret struct {
	Name      string    `json:"name"`
	Value     string    `json:"value"`
	UpdatedAt time.Time `json:"updated_at"`
}

type buildError struct {
	ID  string `json:"id"`
	Msg string `json:"msg"`
	URL string `json:"url"`
}

// content is what a draft and a version share: what gets built.
type content struct {
	Code     string       `json:"code"`
	Deps     []dependency `json:"dependencies"`
	Runtime  string       `json:"runtime"`
	Triggers []TriggerRef `json:"supported_triggers"`
	// Modules are the module versions the code may require, pinned: a
	// version keeps the pins it was built with.
	Modules []moduleRef `json:"modules,omitempty"`
}

func (c content) sameAs(o content) bool {
	return c.Code == o.Code && c.Runtime == o.Runtime && slices.Equal(c.Triggers, o.Triggers) &&
		sameDeps(c.Deps, o.Deps) && slices.Equal(c.Modules, o.Modules)
}

// clone copies c's slices, so that c can be kept while the copy changes.
func (c content) clone() content {
	c.Deps, c.Triggers, c.Modules = slices.Clone(c.Deps), slices.Clone(c.Triggers), slices.Clone(c.Modules)
	return c
}

// sameDeps compares dependencies by name and version: registry_url is
// dropped after a build.
func sameDeps(a, b []dependency) bool {
	return slices.EqualFunc(a, b, func(x, y dependency) bool { return x.Name == y.Name && x.Version == y.Version })
}

// moduleRef pins one published version of an Action Module, as the API
// spells it (ActionModuleReference). Clients send the module by id or name
// and the version by id or number; the tenant fills in the rest.
type moduleRef struct {
	ModuleID      string `json:"module_id"`
	ModuleName    string `json:"module_name"`
	VersionID     string `json:"module_version_id"`
	VersionNumber int    `json:"module_version_number"`
}

type version struct {
	ID        string       `json:"id"`
	Number    int          `json:"number"`
	Content   content      `json:"content"`
	Secrets   []secret     `json:"secrets"`
	Errors    []buildError `json:"errors,omitempty"`
	ReadyAt   time.Time    `json:"ready_at"` // when its build ends
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

type action struct {
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	Draft      content      `json:"draft"`
	Secrets    []secret     `json:"secrets"`
	CreatedAt  time.Time    `json:"created_at"`
	UpdatedAt  time.Time    `json:"updated_at"`
	BuildStart time.Time    `json:"build_start"`
	BuildErrs  []buildError `json:"build_errors,omitempty"`
	Versions   []*version   `json:"versions"`
	DeployedID string       `json:"deployed_id,omitempty"`
	// Integration is set on an action installed from the Marketplace.
	Integration *Integration `json:"integration,omitempty"`
}

// Integration is a Marketplace integration an action was installed from.
type Integration struct {
	ID          string `json:"id"`
	CatalogID   string `json:"catalog_id"`
	URLSlug     string `json:"url_slug"`
	Name        string `json:"name"`
	FeatureType string `json:"feature_type"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

// draftStatus is where the draft's build stands at now: pending for the first
// quarter of the build delay, building until it has passed, then built or failed.
func (a *action) draftStatus(now time.Time, delay time.Duration) tenant.BuildStatus {
	d := now.Sub(a.BuildStart)
	switch {
	case d < delay/4:
		return tenant.StatusPending
	case d < delay:
		return tenant.StatusBuilding
	case len(a.BuildErrs) > 0:
		return tenant.StatusFailed
	}
	return tenant.StatusBuilt
}

// status is where the version's build stands at now; a version made from a
// built draft is built at once, one made by create with deploy:true builds
// with its draft.
func (v *version) status(now time.Time, delay time.Duration) tenant.BuildStatus {
	d := v.ReadyAt.Sub(now)
	switch {
	case d > delay*3/4:
		return tenant.StatusPending
	case d > 0:
		return tenant.StatusBuilding
	case len(v.Errors) > 0:
		return tenant.StatusFailed
	}
	return tenant.StatusBuilt
}

func (a *action) deployed() *version {
	if a.DeployedID == "" {
		return nil
	}
	return a.version(a.DeployedID)
}

func (a *action) version(id string) *version {
	return find(a.Versions, func(v *version) bool { return v.ID == id })
}

func (a *action) latest() *version { return last(a.Versions) }

// find returns the first of vs that match accepts, or nil.
func find[V any](vs []*V, match func(*V) bool) *V {
	if i := slices.IndexFunc(vs, match); i >= 0 {
		return vs[i]
	}
	return nil
}

// last returns the last of vs, or nil.
func last[V any](vs []*V) *V {
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

func (a *action) trigger() string {
	if len(a.Draft.Triggers) == 0 {
		return ""
	}
	return a.Draft.Triggers[0].ID
}

// module is an Action Module: a draft of shared code with its own
// dependencies and secrets, and the immutable versions published from it.
type module struct {
	ID         string           `json:"id"`
	Name       string           `json:"name"`
	Draft      moduleContent    `json:"draft"`
	APIVersion string           `json:"api_version,omitempty"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
	Versions   []*moduleVersion `json:"versions"` // oldest first
	// LastNumber is the number of the newest version ever published, so
	// numbers keep increasing when old versions are deleted.
	LastNumber int `json:"last_number"`
}

// moduleContent is what a module's draft and its versions hold. Secrets
// keep their values: a rollback copies them back into the draft.
type moduleContent struct {
	Code    string       `json:"code"`
	Deps    []dependency `json:"dependencies"`
	Secrets []secret     `json:"secrets"`
}

func (c moduleContent) sameAs(o moduleContent) bool {
	return c.Code == o.Code && sameDeps(c.Deps, o.Deps) &&
		slices.EqualFunc(c.Secrets, o.Secrets, func(x, y secret) bool { return x.Name == y.Name && x.Value == y.Value })
}

func (c moduleContent) clone() moduleContent {
	c.Deps, c.Secrets = slices.Clone(c.Deps), slices.Clone(c.Secrets)
	return c
}

type moduleVersion struct {
	ID        string        `json:"id"`
	Number    int           `json:"number"`
	Content   moduleContent `json:"content"`
	CreatedAt time.Time     `json:"created_at"`
}

func (m *module) version(id string) *moduleVersion {
	return find(m.Versions, func(v *moduleVersion) bool { return v.ID == id })
}

func (m *module) versionNumbered(n int) *moduleVersion {
	return find(m.Versions, func(v *moduleVersion) bool { return v.Number == n })
}

func (m *module) latest() *moduleVersion { return last(m.Versions) }

// published reports whether the draft holds nothing the latest version
// does not: all_changes_published.
func (m *module) published() bool {
	l := m.latest()
	return l != nil && l.Content.sameAs(m.Draft)
}

type binding struct {
	ID          string    `json:"id"`
	ActionID    string    `json:"action_id"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type execution struct {
	ID        string          `json:"id"`
	TriggerID string          `json:"trigger_id"`
	Status    string          `json:"status"`
	Results   []executionStep `json:"results"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

type executionStep struct {
	ActionName string         `json:"action_name"`
	Error      map[string]any `json:"error,omitempty"`
	StartedAt  time.Time      `json:"started_at"`
	EndedAt    time.Time      `json:"ended_at"`
}

var (
	npmName = regexp.MustCompile(`^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$`)
	semver  = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	tagName = regexp.MustCompile(`^(latest|next|beta|alpha|canary)$`)
	rangeV  = regexp.MustCompile(`^[\^~]?(0|[1-9]\d*)(\.(0|[1-9]\d*|x|\*)){0,2}$`)
)

// buildErrors is what building a draft with these dependencies reports: a
// package name npm would refuse, or a version that is neither semver, a
// simple range nor a dist-tag, can never be installed.
func buildErrors(deps []dependency) []buildError {
	var errs []buildError
	for _, d := range deps {
		switch {
		case !npmName.MatchString(d.Name) || len(d.Name) > 214:
			errs = append(errs, buildError{ID: "invalid_dependency", Msg: "Invalid npm package name: " + d.Name, URL: npmURL(d.Name)})
		case d.Version != "" && !semver.MatchString(d.Version) && !tagName.MatchString(d.Version) && !rangeV.MatchString(d.Version):
			errs = append(errs, buildError{ID: "invalid_dependency", Msg: "No matching version found for " + d.Name + "@" + d.Version, URL: npmURL(d.Name)})
		}
	}
	return errs
}

func npmURL(name string) string {
	return "https://www.npmjs.com/package/" + strings.TrimSpace(name)
}
