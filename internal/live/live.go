// Package live reads a tenant's Actions through go-auth0 into the model of
// internal/tenant, in a handful of calls: the trigger catalogue, every
// action (paged), the bindings of the triggers asked for, versions only
// where asked and the listing did not already tell them, and, when asked,
// the Action Modules (paged) and the versions of those asked for. A read that fails or is cut short is an error, never a
// smaller state.
package live

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/actionsync/actionsync/internal/tenant"
	"github.com/auth0/go-auth0/management"
)

// API is what the reader needs of a tenant: go-auth0's typed reads, and its
// plain request for what its types leave out (a failed build's errors,
// Marketplace integrations, the runtimes a trigger accepts, the module pins
// of action versions, and Action Modules, which v1.49.0 has no manager
// for). Every call the reader makes is a read, safe to retry; errors are
// management.Error for answers of 400 and up.
type API interface {
	Bindings(ctx context.Context, triggerID string, opts ...management.RequestOption) (*management.ActionBindingList, error)
	URI(path ...string) string
	Request(ctx context.Context, method, uri string, payload any, opts ...management.RequestOption) error
}

// Client is a go-auth0 client seen as one API: its ActionManager and the
// Management it belongs to, whose plain request reads what the typed calls
// leave out. Both halves are required.
type Client struct {
	*management.ActionManager
	*management.Management
}

// NewClient returns the Client of m.
func NewClient(m *management.Management) Client { return Client{m.Action, m} }

var _ API = Client{}

// PageSize is the largest page the API serves, and the page the reader
// asks for.
const PageSize = 100

// Reader reads one tenant and counts the calls it makes. It is safe for
// concurrent use.
type Reader struct {
	api   API
	calls atomic.Int64
}

// NewReader returns a reader of the tenant behind api.
func NewReader(api API) *Reader { return &Reader{api: api} }

// Calls is the number of API calls the reader has made.
func (r *Reader) Calls() int { return int(r.calls.Load()) }

// Read reads the trigger catalogue and every action. The bindings and
// versions a plan needs are read after, with ReadBindings and ReadVersions.
func (r *Reader) Read(ctx context.Context) (*tenant.State, error) {
	cat, err := r.Catalogue(ctx)
	if err != nil {
		return nil, err
	}
	actions, err := r.Actions(ctx)
	if err != nil {
		return nil, err
	}
	return &tenant.State{Catalogue: cat, Actions: actions, Bindings: map[string][]tenant.Binding{}}, nil
}

// ReadBindings reads the bindings of each trigger into st.
func (r *Reader) ReadBindings(ctx context.Context, st *tenant.State, triggers []string) error {
	for _, t := range triggers {
		bs, err := r.Bindings(ctx, t)
		if err != nil {
			return err
		}
		st.Bindings[t] = bs
	}
	return nil
}

// ReadVersions loads the versions of the named actions of st, but for those
// whose versions the listing already told (an action whose only version is
// the deployed one).
func (r *Reader) ReadVersions(ctx context.Context, st *tenant.State, names []string) error {
	for _, name := range names {
		a := st.Action(name)
		if a.Versions != nil {
			continue
		}
		vs, err := r.Versions(ctx, a.ID, a.Runtime)
		if err != nil {
			return fmt.Errorf("list versions of %s: %w", name, err)
		}
		a.Versions = vs
	}
	return nil
}

// Catalogue reads the tenant's trigger catalogue, with the runtimes each
// trigger version accepts (go-auth0's ActionTrigger has no runtimes, so
// the plain request reads it), so that a runtime the trigger refuses is
// found while validating, before any write. An empty catalogue is an
// error.
func (r *Reader) Catalogue(ctx context.Context) ([]tenant.Trigger, error) {
	r.calls.Add(1)
	var tl struct {
		Triggers []struct {
			ID       string   `json:"id"`
			Version  string   `json:"version"`
			Status   string   `json:"status"`
			Runtimes []string `json:"runtimes"`
		} `json:"triggers"`
	}
	if err := r.api.Request(ctx, http.MethodGet, r.api.URI("actions", "triggers"), &tl); err != nil {
		return nil, fmt.Errorf("list triggers: %w", err)
	}
	var out []tenant.Trigger
	for _, t := range tl.Triggers {
		out = append(out, tenant.Trigger{ID: t.ID, Version: t.Version, Current: t.Status == "CURRENT", Runtimes: t.Runtimes})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("list triggers: the tenant offers no trigger")
	}
	return out, nil
}

// ErrChanged is the error of a list that changed while it was read.
var ErrChanged = errors.New("the list changed while it was read")

// listAttempts bounds the reads of a list that keeps changing under a
// second writer.
const listAttempts = 3

// Actions pages through every action of the tenant, 100 a page. A list that
// changes while it is read is read again from the start, a few times, then
// it is an error (ErrChanged): never a list that skipped or kept actions.
func (r *Reader) Actions(ctx context.Context) ([]*tenant.Action, error) {
	var err error
	for range listAttempts {
		var out []*tenant.Action
		if out, err = r.actions(ctx, true); !errors.Is(err, ErrChanged) {
			return out, err
		}
	}
	return nil, err
}

// Scan pages through every action as Actions does, but a list that changes
// while it is read (as it does while this run creates actions) is no error:
// each action returned is as some page saw it, and one created or deleted
// meanwhile may be missing. It serves build waits, which look up their own
// actions and read a missing one alone.
func (r *Reader) Scan(ctx context.Context) ([]*tenant.Action, error) {
	return r.actions(ctx, false)
}

func (r *Reader) actions(ctx context.Context, exact bool) ([]*tenant.Action, error) {
	return pages(ctx, r, "list actions", exact, func(page int) ([]*tenant.Action, int, error) {
		var l struct {
			Actions []listedAction `json:"actions"`
			Total   int            `json:"total"`
		}
		if err := r.api.Request(ctx, http.MethodGet, r.pageURI(page, "actions", "actions"), &l); err != nil {
			return nil, 0, err
		}
		out := make([]*tenant.Action, len(l.Actions))
		for i := range l.Actions {
			out[i] = l.Actions[i].model()
		}
		return out, l.Total, nil
	})
}

// Action reads one action by id, with its build errors.
func (r *Reader) Action(ctx context.Context, id string) (*tenant.Action, error) {
	r.calls.Add(1)
	var a listedAction
	if err := r.api.Request(ctx, http.MethodGet, r.api.URI("actions", "actions", id), &a); err != nil {
		return nil, fmt.Errorf("read action %s: %w", id, err)
	}
	return a.model(), nil
}

// Bindings reads the ordered bindings of a trigger.
func (r *Reader) Bindings(ctx context.Context, trigger string) ([]tenant.Binding, error) {
	return pages(ctx, r, "list bindings of "+trigger, true, func(page int) ([]tenant.Binding, int, error) {
		bl, err := r.api.Bindings(ctx, trigger, management.Page(page), management.PerPage(PageSize))
		if err != nil {
			return nil, 0, err
		}
		out := make([]tenant.Binding, len(bl.Bindings))
		for i, b := range bl.Bindings {
			out[i] = tenant.Binding{Action: b.GetAction().GetName(), DisplayName: b.GetDisplayName()}
		}
		return out, bl.Total, nil
	})
}

// Versions reads every version of an action, newest first, with the
// module versions each was built with (go-auth0's ActionVersion has no
// modules, so through the plain request); runtime is the action's, which
// the API's versions leave out.
func (r *Reader) Versions(ctx context.Context, id, runtime string) ([]tenant.Version, error) {
	vs, err := pages(ctx, r, "list versions", true, func(page int) ([]tenant.Version, int, error) {
		var vl struct {
			Versions []listedVersion `json:"versions"`
			Total    int             `json:"total"`
		}
		if err := r.api.Request(ctx, http.MethodGet, r.pageURI(page, "actions", "actions", id, "versions"), &vl); err != nil {
			return nil, 0, err
		}
		out := make([]tenant.Version, len(vl.Versions))
		for i := range vl.Versions {
			out[i] = vl.Versions[i].model(runtime)
		}
		return out, vl.Total, nil
	})
	if vs == nil && err == nil {
		vs = []tenant.Version{}
	}
	return vs, err
}

// pageURI is the address of page of the list at path, PageSize a page.
func (r *Reader) pageURI(page int, path ...string) string {
	return r.api.URI(path...) + fmt.Sprintf("?page=%d&per_page=%d", page, PageSize)
}

// pages calls fetch for pages 0, 1, ... until it has the total the tenant
// reports (go-auth0 never reports the last page), or an empty page. Pages
// are offsets, so a list that changes while it is read can skip or repeat
// items: when exact, a total that changes between pages, or an empty page
// before the total, is an error, never a smaller or stale list.
func pages[T any](ctx context.Context, r *Reader, what string, exact bool, fetch func(page int) ([]T, int, error)) ([]T, error) {
	var out []T
	first := -1
	for page := 0; ; page++ {
		r.calls.Add(1)
		items, total, err := fetch(page)
		if err != nil {
			return nil, fmt.Errorf("%s (page %d): %w", what, page, err)
		}
		if first < 0 {
			first = total
		}
		out = append(out, items...)
		switch {
		case exact && total != first:
			return nil, fmt.Errorf("%s: %w (%d, then %d)", what, ErrChanged, first, total)
		case len(out) >= total || len(items) == 0 && !exact:
			return out, nil
		case len(items) == 0:
			return nil, fmt.Errorf("%s: the tenant reports %d but served %d", what, total, len(out))
		}
	}
}
