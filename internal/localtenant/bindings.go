package localtenant

import (
	"net/http"
)

func (t *Tenant) listBindings(w http.ResponseWriter, r *http.Request) {
	trigger := r.PathValue("trigger")
	p, err := parsePage(r.URL.Query())
	if err == nil && !triggerKnown(trigger) {
		err = notFound("That trigger does not exist.")
	}
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	bs := t.st.Bindings[trigger]
	lo, hi := p.window(len(bs))
	out := make([]*bindingOut, 0, hi-lo)
	for _, b := range bs[lo:hi] {
		a, _ := t.findAction(b.ActionID)
		out = append(out, t.renderBinding(trigger, b, a))
	}
	answer(w, http.StatusOK, listEnvelope("bindings", out, p, len(bs)), nil)
}

type bindingsBody struct {
	Bindings []struct {
		Ref struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"ref"`
		DisplayName string `json:"display_name"`
	} `json:"bindings"`
}

// updateBindings replaces the trigger's whole ordered list. Every ref must
// name an action that supports this trigger and has been deployed; a binding
// of an action already bound keeps its id.
func (t *Tenant) updateBindings(w http.ResponseWriter, r *http.Request) {
	trigger := r.PathValue("trigger")
	body, err := decodeBindings(r)
	if err == nil && !triggerKnown(trigger) {
		err = notFound("That trigger does not exist.")
	}
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.opts.Now()
	next := make([]*binding, 0, len(body.Bindings))
	out := make([]*bindingOut, 0, len(body.Bindings))
	for _, in := range body.Bindings {
		a, err := t.resolveRef(trigger, in.Ref.Type, in.Ref.Value)
		if err == nil && bindingOf(next, a.ID) != nil {
			err = badRequest("The action '%s' is bound more than once.", a.Name)
		}
		if err != nil {
			answer(w, 0, nil, err)
			return
		}
		b := &binding{ID: newID(), ActionID: a.ID, DisplayName: in.DisplayName, CreatedAt: now, UpdatedAt: now}
		if old := bindingOf(t.st.Bindings[trigger], a.ID); old != nil {
			b.ID, b.CreatedAt = old.ID, old.CreatedAt
		}
		if b.DisplayName == "" {
			b.DisplayName = a.Name
		}
		next = append(next, b)
		out = append(out, t.renderBinding(trigger, b, a))
	}
	t.st.Bindings[trigger] = next
	answer(w, http.StatusOK, map[string]any{"bindings": out}, t.save())
}

func decodeBindings(r *http.Request) (*bindingsBody, error) {
	var body bindingsBody
	return &body, readJSON(r, updateBindingsBody, false, &body)
}

func (t *Tenant) resolveRef(trigger, kind, value string) (*action, error) {
	var a *action
	switch kind {
	case "action_id":
		a, _ = t.findAction(value)
	case "action_name":
		a = t.findByName(value)
	case "binding_id":
		if b := bindingByID(t.st.Bindings[trigger], value); b != nil {
			a, _ = t.findAction(b.ActionID)
		}
	}
	if a == nil {
		return nil, badRequest("Could not find an action for the reference %s '%s'.", kind, value)
	}
	supported := false
	for _, tr := range a.Draft.Triggers {
		supported = supported || tr.ID == trigger
	}
	if !supported {
		return nil, badRequest("The action '%s' does not support the '%s' trigger.", a.Name, trigger)
	}
	if a.DeployedID == "" {
		return nil, badRequest("The action '%s' has no deployed version; deploy it before binding it.", a.Name)
	}
	return a, nil
}

func bindingOf(bs []*binding, actionID string) *binding {
	for _, b := range bs {
		if b.ActionID == actionID {
			return b
		}
	}
	return nil
}

func bindingByID(bs []*binding, id string) *binding {
	for _, b := range bs {
		if b.ID == id {
			return b
		}
	}
	return nil
}
