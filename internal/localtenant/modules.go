package localtenant

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Action Modules, as https://auth0.com/docs/api/management/v2/actions/post-action-module
// and its sibling pages document them: a module is a draft of shared code
// (with its own dependencies and write-only secrets) that is published as
// immutable, numbered versions; actions pin one version of each module they
// use (content.Modules). The 404, 409 and 412 messages are the descriptions
// the documentation gives each status.
const (
	msgModuleMissing        = "The action module does not exist."
	msgModuleMissingDelete  = "The Actions Module does not exist."
	msgModuleMissingList    = "No module exists with the specified ID."
	msgModuleOrVersion      = "The module or version does not exist."
	msgModuleNameTaken      = "An action module with the same name already exists."
	msgModuleInUse          = "The Actions Module cannot be deleted because it is in use by one or more actions."
	msgModuleNothingToPub   = "No draft version is available to publish."
	msgModuleVersionsFull   = "Maximum number of module versions reached. Consolidate versions used in actions before creating new ones."
	msgModuleAlreadyCurrent = "The specified version is already the current draft version."
	// moduleVersionsPerPage is the documented default page size of
	// GET /actions/modules/{id}/versions ("20 by default").
	moduleVersionsPerPage = 20
)

// moduleBody is a decoded, schema-checked create or update body.
type moduleBody struct {
	Name       *string       `json:"name"`
	Code       *string       `json:"code"`
	Deps       *[]dependency `json:"dependencies"`
	Secrets    *[]secretIn   `json:"secrets"`
	APIVersion *string       `json:"api_version"`
	Publish    *bool         `json:"publish"`
}

// apply writes body into m's draft.
func (m *module) apply(body *moduleBody, now time.Time) {
	if body.Code != nil {
		m.Draft.Code = *body.Code
	}
	if body.Deps != nil {
		m.Draft.Deps = *body.Deps
	}
	if body.Secrets != nil {
		m.Draft.Secrets = mergeSecrets(m.Draft.Secrets, *body.Secrets, now)
	}
	if body.APIVersion != nil {
		m.APIVersion = *body.APIVersion
	}
	if m.Draft.Deps == nil {
		m.Draft.Deps = []dependency{}
	}
	if m.Draft.Secrets == nil {
		m.Draft.Secrets = []secret{}
	}
	m.UpdatedAt = now
}

func (t *Tenant) findModule(id string) *module {
	return find(t.st.Modules, func(m *module) bool { return m.ID == id })
}

func (t *Tenant) findModuleByName(name string) *module {
	return find(t.st.Modules, func(m *module) bool { return m.Name == name })
}

// onModule runs fn with the tenant locked and the module the path names;
// missing is the endpoint's documented 404 message.
func (t *Tenant) onModule(w http.ResponseWriter, r *http.Request, missing string, fn func(m *module, now time.Time) (int, any, error)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.findModule(r.PathValue("id"))
	if m == nil {
		answer(w, 0, nil, notFound(missing))
		return
	}
	code, v, err := fn(m, t.opts.Now())
	answer(w, code, v, err)
}

// listModules is GET /actions/modules: every module in creation order,
// paged when per_page is sent ("Paging is disabled if parameter not sent").
func (t *Tenant) listModules(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := parsePage(q)
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.st.Modules)
	lo, hi := 0, n
	if q.Has("per_page") {
		lo, hi = p.window(n)
	}
	out := make([]*moduleOut, 0, hi-lo) // only the page is rendered
	for _, m := range t.st.Modules[lo:hi] {
		out = append(out, t.renderModule(m, false))
	}
	if !q.Has("per_page") {
		answer(w, http.StatusOK, map[string]any{"modules": out, "total": n}, nil)
		return
	}
	answer(w, http.StatusOK, pagedEnvelope("modules", out, p, n), nil)
}

func (t *Tenant) createModule(w http.ResponseWriter, r *http.Request) {
	var body moduleBody
	if err := readJSON(r, createModuleSchema, false, &body); err != nil {
		answer(w, 0, nil, err)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.findModuleByName(*body.Name) != nil {
		answer(w, 0, nil, conflict(msgModuleNameTaken))
		return
	}
	if len(t.st.Modules) >= t.maxModules() {
		answer(w, 0, nil, tooManyEntities())
		return
	}
	now := t.opts.Now()
	m := &module{ID: newID(), Name: *body.Name, CreatedAt: now, Versions: []*moduleVersion{}}
	m.apply(&body, now)
	if body.Publish != nil && *body.Publish {
		// A new module has no version yet, so this cannot fail.
		t.publish(m, now)
	}
	t.st.Modules = append(t.st.Modules, m)
	answer(w, http.StatusCreated, t.renderModule(m, true), t.save())
}

func (t *Tenant) readModule(w http.ResponseWriter, r *http.Request) {
	t.onModule(w, r, msgModuleMissing, func(m *module, _ time.Time) (int, any, error) {
		return http.StatusOK, t.renderModule(m, true), nil
	})
}

// updateModule is PATCH: code, dependencies and secrets of the draft; the
// name is fixed (the body schema has no name).
func (t *Tenant) updateModule(w http.ResponseWriter, r *http.Request) {
	var body moduleBody
	if err := readJSON(r, updateModuleSchema, false, &body); err != nil {
		answer(w, 0, nil, err)
		return
	}
	t.onModule(w, r, msgModuleMissing, func(m *module, now time.Time) (int, any, error) {
		m.apply(&body, now)
		return http.StatusOK, t.renderModule(m, true), t.save()
	})
}

func (t *Tenant) deleteModule(w http.ResponseWriter, r *http.Request) {
	t.onModule(w, r, msgModuleMissingDelete, func(m *module, _ time.Time) (int, any, error) {
		if t.inUse(m) {
			return 0, nil, preconditionFailed(msgModuleInUse)
		}
		t.st.Modules = slices.DeleteFunc(t.st.Modules, func(x *module) bool { return x == m })
		return http.StatusNoContent, nil, t.save()
	})
}

// listModuleActions lists the actions whose deployed version uses the
// module, with the version it pins.
func (t *Tenant) listModuleActions(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r.URL.Query())
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	t.onModule(w, r, msgModuleMissingList, func(m *module, _ time.Time) (int, any, error) {
		users := t.moduleUsers(m.ID)
		lo, hi := p.window(len(users))
		return http.StatusOK, listEnvelope("actions", users[lo:hi], p, len(users)), nil
	})
}

// rollbackModule copies a version's code, dependencies and secrets into
// the draft; nothing is published.
func (t *Tenant) rollbackModule(w http.ResponseWriter, r *http.Request) {
	var body struct {
		VersionID string `json:"module_version_id"`
	}
	if err := readJSON(r, rollbackModuleSchema, false, &body); err != nil {
		answer(w, 0, nil, err)
		return
	}
	t.onModule(w, r, msgModuleOrVersion, func(m *module, now time.Time) (int, any, error) {
		v := m.version(body.VersionID)
		switch {
		case v == nil:
			return 0, nil, notFound(msgModuleOrVersion)
		case v.Content.sameAs(m.Draft):
			return 0, nil, conflict(msgModuleAlreadyCurrent)
		}
		m.Draft, m.UpdatedAt = v.Content.clone(), now
		return http.StatusOK, t.renderModule(m, true), t.save()
	})
}

// listModuleVersions lists the published versions, newest first.
func (t *Tenant) listModuleVersions(w http.ResponseWriter, r *http.Request) {
	p, err := parsePageWith(r.URL.Query(), moduleVersionsPerPage)
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	t.onModule(w, r, msgModuleMissingList, func(m *module, _ time.Time) (int, any, error) {
		out := newestFirst(m.Versions, p, func(v *moduleVersion) *moduleVersionOut { return renderModuleVersion(m, v) })
		return http.StatusOK, pagedEnvelope("versions", out, p, len(m.Versions)), nil
	})
}

func (t *Tenant) publishModule(w http.ResponseWriter, r *http.Request) {
	if _, err := readBody(r); err != nil {
		answer(w, 0, nil, err)
		return
	}
	t.onModule(w, r, msgModuleMissing, func(m *module, now time.Time) (int, any, error) {
		v, err := t.publish(m, now)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, renderModuleVersion(m, v), t.save()
	})
}

func (t *Tenant) readModuleVersion(w http.ResponseWriter, r *http.Request) {
	t.onModule(w, r, msgModuleOrVersion, func(m *module, _ time.Time) (int, any, error) {
		v := m.version(r.PathValue("vid"))
		if v == nil {
			return 0, nil, notFound(msgModuleOrVersion)
		}
		return http.StatusOK, renderModuleVersion(m, v), nil
	})
}

// publish snapshots m's draft as its next version. A draft with nothing
// unpublished is refused (409). Past maxVersions the oldest version no
// action pins is deleted; when every one is pinned the publish is refused
// (412), as the documentation of both answers says.
func (t *Tenant) publish(m *module, now time.Time) (*moduleVersion, error) {
	if m.published() {
		return nil, conflict(msgModuleNothingToPub)
	}
	v := &moduleVersion{ID: newID(), Number: m.LastNumber + 1, Content: m.Draft.clone(), CreatedAt: now}
	versions := append(slices.Clone(m.Versions), v)
	if !dropOldestUnused(&versions, func(x *moduleVersion) bool {
		return x == v || t.pinned(func(ref moduleRef) bool { return ref.VersionID == x.ID })
	}) {
		return nil, preconditionFailed(msgModuleVersionsFull)
	}
	m.Versions, m.LastNumber = versions, v.Number
	return v, nil
}

// inUse reports whether an action uses m, so that it cannot be deleted:
// its draft or its deployed version pins m. Versions an action keeps but
// does not run do not count: auth0-cli documents that "a module that is in
// use by a deployed action version cannot be deleted"
// (https://auth0.github.io/auth0-cli/auth0_actions_modules_delete.html),
// and the API's own count of users, actions_using_module_total, counts
// deployed versions; the draft counts too, since deploying it would need
// the module.
func (t *Tenant) inUse(m *module) bool {
	is := func(ref moduleRef) bool { return ref.ModuleID == m.ID }
	for _, a := range t.st.Actions {
		if slices.ContainsFunc(a.Draft.Modules, is) {
			return true
		}
		if d := a.deployed(); d != nil && slices.ContainsFunc(d.Content.Modules, is) {
			return true
		}
	}
	return false
}

// pinned reports whether any action's draft or kept version has a module
// pin that match accepts: what "in use" means for keeping a module's
// version past the limit of versions, since a rollback of the action
// would need it.
func (t *Tenant) pinned(match func(moduleRef) bool) bool {
	for _, a := range t.st.Actions {
		if slices.ContainsFunc(a.Draft.Modules, match) {
			return true
		}
		for _, v := range a.Versions {
			if slices.ContainsFunc(v.Content.Modules, match) {
				return true
			}
		}
	}
	return false
}

// moduleUse is one action using a module (ActionModuleAction).
type moduleUse struct {
	ActionID          string       `json:"action_id"`
	ActionName        string       `json:"action_name"`
	VersionID         string       `json:"module_version_id"`
	VersionNumber     int          `json:"module_version_number"`
	SupportedTriggers []TriggerRef `json:"supported_triggers"`
}

// moduleUsers lists, in action creation order, the actions whose deployed
// version pins module id: "showing which deployed action versions
// reference this Actions Module".
func (t *Tenant) moduleUsers(id string) []moduleUse {
	out := []moduleUse{}
	for _, a := range t.st.Actions {
		d := a.deployed()
		if d == nil {
			continue
		}
		for _, ref := range d.Content.Modules {
			if ref.ModuleID == id {
				out = append(out, moduleUse{
					ActionID: a.ID, ActionName: a.Name, VersionID: ref.VersionID, VersionNumber: ref.VersionNumber,
					SupportedTriggers: triggersOut(d.Content.Triggers),
				})
			}
		}
	}
	return out
}

// moduleIn is a module reference as an action body sends it.
type moduleIn struct {
	ModuleID      *string `json:"module_id"`
	ModuleName    *string `json:"module_name"`
	VersionID     *string `json:"module_version_id"`
	VersionNumber *int    `json:"module_version_number"`
}

// resolveModules turns an action body's module references into pins: the
// module by id or name, the version by id or number, each required to
// exist and to agree with the other when both are sent. Auth0 documents
// only "400 Invalid Request Body" for a bad body, so a bad reference is
// that, with invalid_body.
func (t *Tenant) resolveModules(in []moduleIn) ([]moduleRef, error) {
	out := make([]moduleRef, 0, len(in))
	for i, ref := range in {
		pin, err := t.resolveModule(ref)
		if err == nil && slices.ContainsFunc(out, func(o moduleRef) bool { return o.ModuleID == pin.ModuleID }) {
			err = fmt.Errorf("the action module %s is referenced more than once", strconv.Quote(pin.ModuleName))
		}
		if err != nil {
			return nil, badRequest("Invalid module reference on property modules[%d]: %v.", i, err)
		}
		out = append(out, pin)
	}
	return out, nil
}

func (t *Tenant) resolveModule(ref moduleIn) (moduleRef, error) {
	m, err := t.refModule(ref)
	if err != nil {
		return moduleRef{}, err
	}
	v, err := refVersion(m, ref)
	if err != nil {
		return moduleRef{}, err
	}
	return moduleRef{ModuleID: m.ID, ModuleName: m.Name, VersionID: v.ID, VersionNumber: v.Number}, nil
}

func (t *Tenant) refModule(ref moduleIn) (*module, error) {
	id, name := deref(ref.ModuleID), deref(ref.ModuleName)
	var m *module
	switch {
	case id != "":
		m = t.findModule(id)
	case name != "":
		m = t.findModuleByName(name)
	default:
		return nil, fmt.Errorf("module_id or module_name is required")
	}
	switch {
	case m == nil:
		return nil, fmt.Errorf("the action module %s does not exist", strconv.Quote(id+name))
	case name != "" && name != m.Name:
		return nil, fmt.Errorf("module_name %s is not the name of the action module %s", strconv.Quote(name), strconv.Quote(id))
	}
	return m, nil
}

func refVersion(m *module, ref moduleIn) (*moduleVersion, error) {
	id := deref(ref.VersionID)
	var v *moduleVersion
	switch {
	case id != "":
		v = m.version(id)
	case ref.VersionNumber != nil:
		v = m.versionNumbered(*ref.VersionNumber)
		id = strconv.Itoa(*ref.VersionNumber)
	default:
		return nil, fmt.Errorf("module_version_id or module_version_number is required")
	}
	switch {
	case v == nil:
		return nil, fmt.Errorf("version %s of the action module %s does not exist", strconv.Quote(id), strconv.Quote(m.Name))
	case ref.VersionNumber != nil && *ref.VersionNumber != v.Number:
		return nil, fmt.Errorf("module_version_number %d is not the number of version %s", *ref.VersionNumber, strconv.Quote(id))
	}
	return v, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
