// Package live reads the live state of a tenant's Actions through go-auth0,
// in a handful of calls: the trigger catalogue, every action (paged), the
// bindings of the managed triggers, and versions only where a rollback might
// apply. A read that fails or is cut short is an error, never a smaller
// state.
package live

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/auth0/go-auth0/management"
)

// API is the part of go-auth0's ActionManager the reader uses. Every method
// is a read, safe to retry; errors are management.Error for answers of 400
// and up.
type API interface {
	Triggers(ctx context.Context, opts ...management.RequestOption) (*management.ActionTriggerList, error)
	List(ctx context.Context, opts ...management.RequestOption) (*management.ActionList, error)
	Bindings(ctx context.Context, triggerID string, opts ...management.RequestOption) (*management.ActionBindingList, error)
	Versions(ctx context.Context, id string, opts ...management.RequestOption) (*management.ActionVersionList, error)
}

var _ API = (*management.ActionManager)(nil)

// pageSize is the largest page the API serves.
const pageSize = 100

// State is what Read returns: the live state and the trigger catalogue.
type State struct {
	Live      *diff.Live
	Catalogue []manifest.TriggerInfo
	Reads     int // API calls made
}

// Requester is go-auth0's plain request, for the fields its typed Action
// leaves out (installed_integration_id, integration).
type Requester interface {
	URI(path ...string) string
	Request(ctx context.Context, method, uri string, payload any, opts ...management.RequestOption) error
}

var _ Requester = (*management.Management)(nil)

// Options shape a read.
type Options struct {
	// Raw, when set, lists actions with a plain request, so Marketplace
	// integrations are known (and never pruned); without it none are.
	Raw Requester
	// Prune also reads the bindings of the triggers of actions the repo does
	// not hold, so the plan can tell which are bound elsewhere.
	Prune bool
}

// Read reads the live state that planning desired needs, but for versions
// (ReadVersions).
func Read(ctx context.Context, api API, desired *manifest.Repo, opts Options) (*State, error) {
	s := &State{Live: &diff.Live{Bindings: map[string][]diff.LiveBinding{}}}
	if err := s.readTriggers(ctx, api); err != nil {
		return nil, err
	}
	if err := s.readActions(ctx, api, opts.Raw); err != nil {
		return nil, err
	}
	for _, t := range bindingTriggers(desired, s.Live, opts.Prune) {
		if err := s.readBindings(ctx, api, t); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ReadVersions loads the versions of the named actions: call it with
// diff.RollbackCandidates once the repo is validated against the catalogue
// (which fills in trigger versions), so that only actions whose draft really
// differs cost a read.
func (s *State) ReadVersions(ctx context.Context, api API, names []string) error {
	for _, name := range names {
		if err := s.readVersions(ctx, api, s.Live.Action(name)); err != nil {
			return err
		}
	}
	return nil
}

func (s *State) readTriggers(ctx context.Context, api API) error {
	s.Reads++
	tl, err := api.Triggers(ctx)
	if err != nil {
		return fmt.Errorf("list triggers: %w", err)
	}
	for _, t := range tl.Triggers {
		s.Catalogue = append(s.Catalogue, manifest.TriggerInfo{ID: t.GetID(), Version: t.GetVersion(), Current: t.GetStatus() == "CURRENT"})
	}
	if len(s.Catalogue) == 0 {
		return fmt.Errorf("list triggers: the tenant offers no trigger")
	}
	return nil
}

// readActions pages through every action. go-auth0 never reports the last
// page, so it stops on total or on an empty page.
func (s *State) readActions(ctx context.Context, api API, raw Requester) error {
	actions, calls, err := ListActions(ctx, api, raw)
	s.Reads += calls
	s.Live.Actions = actions
	return err
}

// ListActions pages through every action of the tenant, 100 a page, and
// returns them with the calls it took. go-auth0 never reports the last page,
// so it stops on total or on an empty page; fewer actions than total is an
// error. With raw, Marketplace integrations are marked.
func ListActions(ctx context.Context, api API, raw Requester) ([]*diff.LiveAction, int, error) {
	var out []*diff.LiveAction
	for page := 0; ; page++ {
		l, err := listPage(ctx, api, raw, page)
		if err != nil {
			return nil, page + 1, fmt.Errorf("list actions (page %d): %w", page, err)
		}
		for _, a := range l.Actions {
			la := convert(&a.Action)
			la.Integration = a.InstalledIntegrationID != "" || a.Integration != nil
			out = append(out, la)
		}
		if len(l.Actions) == 0 || len(out) >= l.Total {
			if len(out) < l.Total {
				return nil, page + 1, fmt.Errorf("list actions: the tenant reports %d actions but served %d", l.Total, len(out))
			}
			return out, page + 1, nil
		}
	}
}

// listedAction is an action with the Marketplace fields go-auth0's Action
// lacks.
type listedAction struct {
	management.Action
	InstalledIntegrationID string          `json:"installed_integration_id"`
	Integration            *map[string]any `json:"integration"`
}

type actionPage struct {
	Actions []listedAction `json:"actions"`
	Total   int            `json:"total"`
}

func listPage(ctx context.Context, api API, raw Requester, page int) (*actionPage, error) {
	out := &actionPage{}
	if raw != nil {
		uri := raw.URI("actions", "actions") + fmt.Sprintf("?page=%d&per_page=%d", page, pageSize)
		return out, raw.Request(ctx, "GET", uri, out)
	}
	l, err := api.List(ctx, management.Page(page), management.PerPage(pageSize))
	if err != nil {
		return nil, err
	}
	out.Total = l.Total
	for _, a := range l.Actions {
		out.Actions = append(out.Actions, listedAction{Action: *a})
	}
	return out, nil
}

func convert(a *management.Action) *diff.LiveAction {
	la := &diff.LiveAction{
		ID: a.GetID(), Name: a.GetName(), Code: a.GetCode(), Runtime: a.GetRuntime(), Status: a.GetStatus(),
	}
	if len(a.SupportedTriggers) > 0 {
		la.Trigger = manifest.TriggerRef{ID: a.SupportedTriggers[0].GetID(), Version: a.SupportedTriggers[0].GetVersion()}
	}
	if a.Dependencies != nil {
		la.Dependencies = deps(*a.Dependencies)
	}
	if a.Secrets != nil {
		for _, sec := range *a.Secrets {
			la.Secrets = append(la.Secrets, sec.GetName())
		}
	}
	if v := a.DeployedVersion; v != nil {
		la.Deployed = version(v, la.Runtime)
	}
	return la
}

func version(v *management.ActionVersion, runtime string) *diff.Version {
	var ds []management.ActionDependency
	for _, d := range v.Dependencies {
		ds = append(ds, *d)
	}
	// go-auth0's ActionVersion drops the version's runtime; a deployed
	// version and its action share it unless the draft changed it, which
	// shows as a draft difference anyway.
	return &diff.Version{ID: v.GetID(), Number: v.Number, Code: v.GetCode(), Runtime: runtime, Dependencies: deps(ds)}
}

// deps normalises dependencies as the tenant keeps them: sorted by name,
// without registry_url, which the tenant drops after a build.
func deps(in []management.ActionDependency) []manifest.Dependency {
	out := make([]manifest.Dependency, 0, len(in))
	for _, d := range in {
		out = append(out, manifest.Dependency{Name: d.GetName(), Version: d.GetVersion()})
	}
	slices.SortFunc(out, func(a, b manifest.Dependency) int { return strings.Compare(a.Name, b.Name) })
	if len(out) == 0 {
		return nil
	}
	return out
}

// bindingTriggers lists the triggers whose bindings the plan needs.
func bindingTriggers(desired *manifest.Repo, l *diff.Live, prune bool) []string {
	var out []string
	for _, t := range desired.Triggers {
		out = append(out, t.ID)
	}
	if prune {
		for _, a := range l.Actions {
			if desired.Action(a.Name) == nil && a.Trigger.ID != "" && !slices.Contains(out, a.Trigger.ID) {
				out = append(out, a.Trigger.ID)
			}
		}
	}
	return out
}

func (s *State) readBindings(ctx context.Context, api API, trigger string) error {
	var got []diff.LiveBinding
	for page := 0; ; page++ {
		s.Reads++
		bl, err := api.Bindings(ctx, trigger, management.Page(page), management.PerPage(pageSize))
		if err != nil {
			return fmt.Errorf("list bindings of %s (page %d): %w", trigger, page, err)
		}
		for _, b := range bl.Bindings {
			got = append(got, diff.LiveBinding{Action: b.GetAction().GetName(), DisplayName: b.GetDisplayName()})
		}
		if len(bl.Bindings) == 0 || len(got) >= bl.Total {
			break
		}
	}
	s.Live.Bindings[trigger] = got
	return nil
}

func (s *State) readVersions(ctx context.Context, api API, a *diff.LiveAction) error {
	a.Versions = []diff.Version{}
	for page := 0; ; page++ {
		s.Reads++
		vl, err := api.Versions(ctx, a.ID, management.Page(page), management.PerPage(pageSize))
		if err != nil {
			return fmt.Errorf("list versions of %s (page %d): %w", a.Name, page, err)
		}
		for _, v := range vl.Versions {
			a.Versions = append(a.Versions, *version(v, a.Runtime))
		}
		if len(vl.Versions) == 0 || len(a.Versions) >= vl.Total {
			return nil
		}
	}
}

// TriggerOf maps each live action's name to its trigger id, for
// manifest.Repo.Validate.
func (s *State) TriggerOf() map[string]string {
	out := map[string]string{}
	for _, a := range s.Live.Actions {
		out[a.Name] = a.Trigger.ID
	}
	return out
}
