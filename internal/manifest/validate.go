package manifest

import (
	"slices"

	"github.com/actionsync/actionsync/internal/tenant"
)

// Validate checks the repo against what the tenant offers: each action's
// trigger and runtime must be in the catalogue, each managed trigger must
// exist, and a binding to an action the repo does not hold must name an
// action of the tenant (liveTrigger maps the tenant's action names to their
// trigger ids) of the same trigger. It fills in the current version of
// triggers given without one. Runtimes are checked where the catalogue
// lists them (go-auth0 does not read them; the API refuses a bad one).
// Every problem comes back at once as Errors.
func (r *Repo) Validate(catalogue []tenant.Trigger, liveTrigger map[string]string) error {
	var errs Errors
	for _, a := range r.Actions {
		if e := a.resolveTrigger(catalogue); e != nil {
			errs = append(errs, e)
		}
	}
	for _, t := range r.Triggers {
		if !slices.ContainsFunc(catalogue, func(c tenant.Trigger) bool { return c.ID == t.ID }) {
			errs = append(errs, errf(TriggersFile, t.Line, "trigger %s is not offered by the tenant", t.ID))
			continue
		}
		errs = append(errs, r.checkBindings(t, liveTrigger)...)
	}
	if len(errs) > 0 {
		return errs.sorted()
	}
	return nil
}

func (a *Action) resolveTrigger(catalogue []tenant.Trigger) *Error {
	var match *tenant.Trigger
	for i, c := range catalogue {
		if c.ID == a.Trigger.ID && (c.Version == a.Trigger.Version || a.Trigger.Version == "" && c.Current) {
			match = &catalogue[i]
		}
	}
	if match == nil {
		v := a.Trigger.Version
		if v == "" {
			v = "current"
		}
		return errf(a.File(), a.Line("trigger.id"), "trigger %s (%s) is not offered by the tenant", a.Trigger.ID, v)
	}
	a.Trigger.Version = match.Version
	if match.Runtimes != nil && !slices.Contains(match.Runtimes, a.Runtime) {
		return errf(a.File(), a.Line("runtime"), "runtime %s is not offered for %s %s (offered: %v)", a.Runtime, match.ID, match.Version, match.Runtimes)
	}
	return nil
}

func (r *Repo) checkBindings(t *Trigger, liveTrigger map[string]string) []*Error {
	var errs []*Error
	for _, b := range t.Bindings {
		if r.Action(b.Action) != nil {
			continue // checked by Load
		}
		trig, ok := liveTrigger[b.Action]
		switch {
		case !ok:
			errs = append(errs, errf(TriggersFile, b.Line, "%s: %s names no action of the repo or the tenant", t.ID, b.Action))
		case trig != t.ID:
			errs = append(errs, errf(TriggersFile, b.Line, "%s: tenant action %s supports the %s trigger, not %s", t.ID, b.Action, trig, t.ID))
		}
	}
	return errs
}
