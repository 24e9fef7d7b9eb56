package localtenant

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/actionsync/actionsync/internal/tenant"
)

const maxBody = 10 << 20

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, badRequest("Invalid request payload JSON format")
	}
	if len(b) > maxBody {
		return nil, &httpError{code: http.StatusRequestEntityTooLarge, message: "Payload too large"}
	}
	return b, nil
}

// page is a validated page/per_page pair.
type page struct{ page, perPage int }

func queryError(msg string) error {
	return &httpError{code: http.StatusBadRequest, message: "Query validation error: " + msg, errorCode: "invalid_query_string"}
}

func parsePage(q url.Values) (page, error) { return parsePageWith(q, 50) }

// parsePageWith reads page and per_page, per_page defaulting to perPage.
func parsePageWith(q url.Values, perPage int) (page, error) {
	p := page{perPage: perPage}
	for _, f := range []struct {
		name string
		dst  *int
		min  int
		max  int
	}{{"page", &p.page, 0, 1 << 30}, {"per_page", &p.perPage, 1, 100}} {
		s := q.Get(f.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return p, queryError("'Expected type integer but found type string' on property " + f.name + ".")
		}
		if n < f.min || n > f.max {
			return p, queryError("'Value out of range' on property " + f.name + ".")
		}
		*f.dst = n
	}
	return p, nil
}

// window cuts [0,n) to the page's slice bounds.
func (p page) window(n int) (int, int) {
	lo := min(p.page*p.perPage, n)
	return lo, min(lo+p.perPage, n)
}

// newestFirst renders page p of vs (oldest first) newest first, as the API
// lists versions.
func newestFirst[V, R any](vs []V, p page, render func(V) R) []R {
	lo, hi := p.window(len(vs))
	out := make([]R, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, render(vs[len(vs)-1-i]))
	}
	return out
}

// listEnvelope adds the paging fields the API sends: total and per_page, and
// page only when it is not zero.
func listEnvelope(key string, items any, p page, total int) map[string]any {
	m := map[string]any{key: items, "total": total, "per_page": p.perPage}
	if p.page != 0 {
		m["page"] = p.page
	}
	return m
}

// pagedEnvelope is the envelope of the Action Modules lists, which always
// carry page, as the recorded answers of a real tenant do.
func pagedEnvelope(key string, items any, p page, total int) map[string]any {
	return map[string]any{key: items, "total": total, "page": p.page, "per_page": p.perPage}
}

func parseBool(q url.Values, name string) (*bool, error) {
	s := q.Get(name)
	if s == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, queryError("'Expected type boolean but found type string' on property " + name + ".")
	}
	return &b, nil
}

func (t *Tenant) listActions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := parsePage(q)
	var deployed, installed *bool
	if err == nil {
		deployed, err = parseBool(q, "deployed")
	}
	if err == nil {
		installed, err = parseBool(q, "installed")
	}
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	trigger, name := q.Get("triggerId"), q.Get("actionName")
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.opts.Now()
	var match []*action
	for _, a := range t.st.Actions {
		switch {
		case trigger != "" && a.trigger() != trigger,
			name != "" && a.Name != name,
			deployed != nil && *deployed != (a.DeployedID != ""),
			installed != nil && *installed != (a.Integration != nil):
			continue
		}
		match = append(match, a)
	}
	lo, hi := p.window(len(match))
	out := make([]*actionOut, 0, hi-lo)
	for _, a := range match[lo:hi] {
		out = append(out, t.renderAction(a, now))
	}
	answer(w, http.StatusOK, listEnvelope("actions", out, p, len(match)), nil)
}

func (t *Tenant) findAction(id string) (*action, error) {
	if a := find(t.st.Actions, func(a *action) bool { return a.ID == id }); a != nil {
		return a, nil
	}
	return nil, notFound("That action does not exist.")
}

func (t *Tenant) findByName(name string) *action {
	return find(t.st.Actions, func(a *action) bool { return a.Name == name })
}

// actionBody is a decoded, schema-checked create or update body.
type actionBody struct {
	Name     *string       `json:"name"`
	Triggers *[]TriggerRef `json:"supported_triggers"`
	Code     *string       `json:"code"`
	Deps     *[]dependency `json:"dependencies"`
	Runtime  *string       `json:"runtime"`
	Secrets  *[]secretIn   `json:"secrets"`
	Modules  *[]moduleIn   `json:"modules"`
	Deploy   *bool         `json:"deploy"`

	registryErrs []buildError // what the registry said of Deps
}

// secretIn is a secret as a body sends it: a name, and a value unless the
// secret keeps the one it has.
type secretIn struct {
	Name  string  `json:"name"`
	Value *string `json:"value"`
}

func decodeAction(r *http.Request, s *schema) (*actionBody, error) {
	var body actionBody
	return &body, readJSON(r, s, false, &body)
}

func (t *Tenant) createAction(w http.ResponseWriter, r *http.Request) {
	body, err := decodeAction(r, createActionSchema)
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	body.registryErrs = t.lookupDeps(r.Context(), body.Deps)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.findByName(*body.Name) != nil {
		answer(w, 0, nil, conflict("An action with the name '"+*body.Name+"' already exists."))
		return
	}
	if len(t.st.Actions) >= t.maxActions() {
		answer(w, 0, nil, tooManyEntities())
		return
	}
	now := t.opts.Now()
	a := &action{ID: newID(), Name: *body.Name, CreatedAt: now}
	if err := t.apply(a, body, now); err != nil {
		answer(w, 0, nil, err)
		return
	}
	if body.Deploy != nil && *body.Deploy {
		// deploy:true makes the first version at once; it builds with the draft.
		t.newVersion(a, a.Draft, now, now.Add(t.opts.BuildDelay), a.BuildErrs)
	}
	t.st.Actions = append(t.st.Actions, a)
	answer(w, http.StatusCreated, t.renderAction(a, now), t.save())
}

// apply validates body against the catalogue and writes it into a's draft.
func (t *Tenant) apply(a *action, body *actionBody, now time.Time) error {
	draft := a.Draft
	if body.Name != nil {
		a.Name = *body.Name
	}
	if body.Triggers != nil {
		if len(*body.Triggers) == 0 {
			return badRequest("Payload validation error: 'Array is too short (0), minimum 1' on property supported_triggers.")
		}
		for _, tr := range *body.Triggers {
			if _, ok := findTrigger(tr.ID, tr.Version); !ok {
				return badRequest("Invalid trigger: %s (%s) is not a supported trigger.", tr.ID, tr.Version)
			}
		}
		draft.Triggers = *body.Triggers
	}
	if body.Code != nil {
		draft.Code = *body.Code
	}
	if body.Deps != nil {
		draft.Deps = *body.Deps
	}
	if body.Modules != nil {
		refs, err := t.resolveModules(*body.Modules)
		if err != nil {
			return err
		}
		draft.Modules = refs
	}
	if draft.Deps == nil {
		draft.Deps = []dependency{}
	}
	trig, _ := findTrigger(draft.Triggers[0].ID, draft.Triggers[0].Version)
	if body.Runtime != nil {
		draft.Runtime = *body.Runtime
	}
	if draft.Runtime == "" {
		draft.Runtime = trig.DefaultRuntime
	}
	if !slices.Contains(trig.Runtimes, draft.Runtime) {
		return badRequest("Invalid runtime: %s is not supported by the %s (%s) trigger.", draft.Runtime, trig.ID, trig.Version)
	}
	if body.Secrets != nil {
		a.Secrets = mergeSecrets(a.Secrets, *body.Secrets, now)
	}
	if a.Secrets == nil {
		a.Secrets = []secret{}
	}
	a.Draft, a.UpdatedAt, a.BuildStart = draft, now, now
	if body.Deps != nil || a.BuildErrs == nil {
		a.BuildErrs = append(buildErrors(draft.Deps), body.registryErrs...)
	}
	return nil
}

// mergeSecrets replaces the secret list: a secret sent with a value takes it;
// one sent by name only keeps the value it had.
func mergeSecrets(old []secret, in []secretIn, now time.Time) []secret {
	out := make([]secret, 0, len(in))
	for _, s := range in {
		next := secret{Name: s.Name, UpdatedAt: now}
		for _, o := range old {
			if o.Name == s.Name {
				next = o
			}
		}
		if s.Value != nil {
			next.Value, next.UpdatedAt = *s.Value, now
		}
		out = append(out, next)
	}
	return out
}

func (t *Tenant) boundTo(actionID string) []string {
	var out []string
	for _, tr := range catalogue {
		if slices.Contains(out, tr.ID) {
			continue
		}
		for _, b := range t.st.Bindings[tr.ID] {
			if b.ActionID == actionID {
				out = append(out, tr.ID)
				break
			}
		}
	}
	return out
}

func removeAction(bs []*binding, actionID string) []*binding {
	out := bs[:0:0]
	for _, b := range bs {
		if b.ActionID != actionID {
			out = append(out, b)
		}
	}
	return out
}

// newVersion records c as a's next version, built at readyAt with errs, and
// makes it the deployed one. Past maxVersions the oldest version that is
// not deployed is deleted, as Auth0 deletes "the oldest unused version";
// the newest, which this call deploys, is never the one.
func (t *Tenant) newVersion(a *action, c content, now, readyAt time.Time, errs []buildError) *version {
	n := 1
	if l := a.latest(); l != nil {
		n = l.Number + 1
	}
	secrets := make([]secret, len(a.Secrets))
	copy(secrets, a.Secrets)
	v := &version{
		ID: newID(), Number: n, Content: c.clone(), Secrets: secrets, Errors: errs,
		ReadyAt: readyAt, CreatedAt: now, UpdatedAt: now,
	}
	for i := range v.Content.Deps {
		v.Content.Deps[i].RegistryURL = ""
	}
	a.Versions = append(a.Versions, v)
	a.DeployedID = v.ID
	dropOldestUnused(&a.Versions, func(v *version) bool { return v.ID == a.DeployedID })
	return v
}

func (t *Tenant) listTriggers(w http.ResponseWriter, r *http.Request) {
	out := make([]Trigger, len(catalogue))
	for i, tr := range catalogue {
		if tr.Compatible == nil {
			tr.Compatible = []TriggerRef{}
		}
		out[i] = tr
	}
	answer(w, http.StatusOK, map[string]any{"triggers": out}, nil)
}

func (t *Tenant) emptyArray(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("include_totals") == "true" {
		p, err := parsePage(q)
		answer(w, http.StatusOK, map[string]any{"clients": []any{}, "start": p.page * p.perPage, "limit": p.perPage, "total": 0}, err)
		return
	}
	answer(w, http.StatusOK, []any{}, nil)
}

// onAction runs fn with the tenant locked and the action the path names,
// and answers what fn returns: the one shape of every handler of one action.
func (t *Tenant) onAction(w http.ResponseWriter, r *http.Request, fn func(a *action, now time.Time) (int, any, error)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, err := t.findAction(r.PathValue("id"))
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	code, v, err := fn(a, t.opts.Now())
	answer(w, code, v, err)
}

func (t *Tenant) readAction(w http.ResponseWriter, r *http.Request) {
	t.onAction(w, r, func(a *action, now time.Time) (int, any, error) {
		return http.StatusOK, t.renderAction(a, now), nil
	})
}

func (t *Tenant) updateAction(w http.ResponseWriter, r *http.Request) {
	body, err := decodeAction(r, updateActionSchema)
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	body.registryErrs = t.lookupDeps(r.Context(), body.Deps)
	t.onAction(w, r, func(a *action, now time.Time) (int, any, error) {
		if body.Name != nil && *body.Name != a.Name && t.findByName(*body.Name) != nil {
			return 0, nil, conflict("An action with the name '" + *body.Name + "' already exists.")
		}
		next := *a
		if err := t.apply(&next, body, now); err != nil {
			return 0, nil, err
		}
		*a = next
		return http.StatusOK, t.renderAction(a, now), t.save()
	})
}

func (t *Tenant) deleteAction(w http.ResponseWriter, r *http.Request) {
	force, err := parseBool(r.URL.Query(), "force")
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	t.onAction(w, r, func(a *action, _ time.Time) (int, any, error) {
		bound := t.boundTo(a.ID)
		if len(bound) > 0 && (force == nil || !*force) {
			return 0, nil, conflict("The action is bound to the " + bound[0] + " trigger. Remove its bindings, or delete with force=true.")
		}
		for _, trig := range bound {
			t.st.Bindings[trig] = removeAction(t.st.Bindings[trig], a.ID)
		}
		t.st.Actions = slices.DeleteFunc(t.st.Actions, func(x *action) bool { return x == a })
		return http.StatusNoContent, nil, t.save()
	})
}

func (t *Tenant) deployDraft(w http.ResponseWriter, r *http.Request) {
	if _, err := readBody(r); err != nil {
		answer(w, 0, nil, err)
		return
	}
	t.onAction(w, r, func(a *action, now time.Time) (int, any, error) {
		if a.draftStatus(now, t.opts.BuildDelay) != tenant.StatusBuilt {
			return 0, nil, &httpError{code: http.StatusBadRequest, message: "A draft must be in the 'built' state before it can be deployed."}
		}
		v := t.newVersion(a, a.Draft, now, a.BuildStart.Add(t.opts.BuildDelay), nil)
		return http.StatusOK, t.renderVersion(a, v, false, true), t.save()
	})
}

// deployVersion is a rollback: a new version with the next number and the
// old version's content, built already; with update_draft the draft follows.
func (t *Tenant) deployVersion(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UpdateDraft bool `json:"update_draft"`
	}
	if err := readJSON(r, deployVersionSchema, true, &body); err != nil {
		answer(w, 0, nil, err)
		return
	}
	updateDraft := body.UpdateDraft
	t.onAction(w, r, func(a *action, now time.Time) (int, any, error) {
		old := a.version(r.PathValue("vid"))
		if old == nil {
			return 0, nil, notFound("That action version does not exist.")
		}
		c := old.Content
		if updateDraft {
			a.Draft = c.clone()
			a.BuildStart, a.BuildErrs, a.UpdatedAt = now.Add(-t.opts.BuildDelay), nil, now
		}
		v := t.newVersion(a, c, now, now, nil)
		return http.StatusOK, t.renderVersion(a, v, false, true), t.save()
	})
}

func (t *Tenant) listVersions(w http.ResponseWriter, r *http.Request) {
	p, err := parsePage(r.URL.Query())
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	t.onAction(w, r, func(a *action, _ time.Time) (int, any, error) {
		out := newestFirst(a.Versions, p, func(v *version) *versionOut { return t.renderVersion(a, v, false, false) })
		return http.StatusOK, listEnvelope("versions", out, p, len(a.Versions)), nil
	})
}

func (t *Tenant) readVersion(w http.ResponseWriter, r *http.Request) {
	t.onAction(w, r, func(a *action, _ time.Time) (int, any, error) {
		v := a.version(r.PathValue("vid"))
		if v == nil {
			return 0, nil, notFound("That action version does not exist.")
		}
		return http.StatusOK, t.renderVersion(a, v, false, false), nil
	})
}

// InstallIntegration installs a Marketplace integration as the Marketplace
// would: an action called name for trigger (at its current version), built
// and deployed, marked with its integration. The API cannot make one; tests
// and demos can.
func (t *Tenant) InstallIntegration(name, trigger string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.findByName(name) != nil {
		return "", conflict("An action with the name '" + name + "' already exists.")
	}
	if len(t.st.Actions) >= t.maxActions() {
		return "", tooManyEntities()
	}
	var ref *TriggerRef
	for _, tr := range catalogue {
		if tr.ID == trigger && tr.Status == "CURRENT" {
			ref = &TriggerRef{ID: tr.ID, Version: tr.Version}
		}
	}
	if ref == nil {
		return "", badRequest("Invalid trigger: %s", trigger)
	}
	now := t.opts.Now()
	tr, _ := findTrigger(ref.ID, ref.Version)
	a := &action{
		ID: newID(), Name: name, CreatedAt: now, UpdatedAt: now, BuildStart: now.Add(-t.opts.BuildDelay),
		Draft:       content{Code: "// installed from the Marketplace\n", Runtime: tr.DefaultRuntime, Triggers: []TriggerRef{*ref}, Deps: []dependency{}},
		Secrets:     []secret{},
		Integration: &Integration{ID: newID(), CatalogID: name, URLSlug: name, Name: name, FeatureType: "action", CreatedAt: ts(now), UpdatedAt: ts(now)},
	}
	t.newVersion(a, a.Draft, now, now, nil)
	t.st.Actions = append(t.st.Actions, a)
	return a.ID, t.save()
}
