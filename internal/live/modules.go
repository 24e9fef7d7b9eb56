package live

import (
	"context"
	"fmt"
	"net/http"

	"github.com/actionsync/actionsync/internal/tenant"
	"github.com/auth0/go-auth0/management"
)

// listedModule is an Action Module as GET /actions/modules lists it
// (ActionModuleListItem): its draft, and its latest version's number.
type listedModule struct {
	ID           string                        `json:"id"`
	Name         string                        `json:"name"`
	Code         string                        `json:"code"`
	Dependencies []management.ActionDependency `json:"dependencies"`
	Secrets      []struct {
		Name string `json:"name"`
	} `json:"secrets"`
	AllChangesPublished bool `json:"all_changes_published"`
	LatestVersionNumber int  `json:"latest_version_number"`
}

func (m *listedModule) model() *tenant.Module {
	out := &tenant.Module{ID: m.ID, Name: m.Name, Code: m.Code, Dependencies: deps(m.Dependencies),
		Published: m.AllChangesPublished, Latest: m.LatestVersionNumber}
	for _, s := range m.Secrets {
		out.Secrets = append(out.Secrets, s.Name)
	}
	return out
}

// listedModuleVersion is one published version (ActionModuleVersion).
type listedModuleVersion struct {
	ID           string                        `json:"id"`
	Number       int                           `json:"version_number"`
	Code         string                        `json:"code"`
	Dependencies []management.ActionDependency `json:"dependencies"`
	Secrets      []struct {
		Name string `json:"name"`
	} `json:"secrets"`
}

func (v *listedModuleVersion) model() tenant.ModuleVersion {
	out := tenant.ModuleVersion{ID: v.ID, Number: v.Number, Code: v.Code, Dependencies: deps(v.Dependencies)}
	for _, s := range v.Secrets {
		out.Secrets = append(out.Secrets, s.Name)
	}
	return out
}

// ReadModules reads every Action Module into st: one call a page of
// PageSize modules.
func (r *Reader) ReadModules(ctx context.Context, st *tenant.State) error {
	ms, err := r.Modules(ctx)
	if err != nil {
		return err
	}
	st.Modules = ms
	return nil
}

// Modules pages through every Action Module of the tenant, PageSize a page
// (GET /actions/modules pages only when asked to: "Paging is disabled if
// parameter not sent"). A list that changes while it is read is an error
// (ErrChanged), never a list that skipped or kept modules.
func (r *Reader) Modules(ctx context.Context) ([]*tenant.Module, error) {
	ms, err := pages(ctx, r, "list modules", true, func(page int) ([]*tenant.Module, int, error) {
		var l struct {
			Modules []listedModule `json:"modules"`
			Total   int            `json:"total"`
		}
		if err := r.api.Request(ctx, http.MethodGet, r.pageURI(page, "actions", "modules"), &l); err != nil {
			return nil, 0, err
		}
		out := make([]*tenant.Module, len(l.Modules))
		for i := range l.Modules {
			out[i] = l.Modules[i].model()
		}
		return out, l.Total, nil
	})
	if ms == nil && err == nil {
		ms = []*tenant.Module{}
	}
	return ms, err
}

// ReadModuleVersions loads the published versions of the named modules of
// st, which must have been read, but for those loaded already.
func (r *Reader) ReadModuleVersions(ctx context.Context, st *tenant.State, names []string) error {
	for _, name := range names {
		m := st.Module(name)
		if m == nil || m.Versions != nil {
			continue
		}
		vs, err := r.ModuleVersions(ctx, m.ID)
		if err != nil {
			return fmt.Errorf("list versions of module %s: %w", name, err)
		}
		m.Versions = vs
	}
	return nil
}

// ModuleVersions reads every published version of a module, newest first.
func (r *Reader) ModuleVersions(ctx context.Context, id string) ([]tenant.ModuleVersion, error) {
	vs, err := pages(ctx, r, "list module versions", true, func(page int) ([]tenant.ModuleVersion, int, error) {
		var l struct {
			Versions []listedModuleVersion `json:"versions"`
			Total    int                   `json:"total"`
		}
		if err := r.api.Request(ctx, http.MethodGet, r.pageURI(page, "actions", "modules", id, "versions"), &l); err != nil {
			return nil, 0, err
		}
		out := make([]tenant.ModuleVersion, len(l.Versions))
		for i := range l.Versions {
			out[i] = l.Versions[i].model()
		}
		return out, l.Total, nil
	})
	if vs == nil && err == nil {
		vs = []tenant.ModuleVersion{}
	}
	return vs, err
}
