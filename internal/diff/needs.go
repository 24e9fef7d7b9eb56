package diff

import (
	"slices"

	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/tenant"
)

// BindingTriggers names the triggers whose bindings a plan needs read:
// every managed trigger, and, with prune, the trigger of each live action
// this owner wrote that the repo does not hold, so the plan can tell which
// are bound elsewhere.
func BindingTriggers(desired *manifest.Repo, live *tenant.State, opts Options) []string {
	var out []string
	for _, t := range desired.Triggers {
		out = append(out, t.ID)
	}
	if opts.Prune {
		for _, a := range live.Actions {
			if desired.Action(a.Name) == nil && isOurs(a, opts.owner()) && a.Trigger.ID != "" && !slices.Contains(out, a.Trigger.ID) {
				out = append(out, a.Trigger.ID)
			}
		}
	}
	return out
}

// RollbackCandidates names the live actions whose draft differs from the
// commit and that have a deployed version, so their versions are read and
// the planner can choose a rollback over a new build; for an action whose
// draft and deployed version carry no stamp (replaced in the dashboard),
// the versions also tell whether this owner once wrote it. Another
// owner's actions and integrations are not candidates. Call it once the repo
// is validated against the catalogue (which fills in trigger versions), so
// that only actions whose draft really differs cost a read.
//
// Read the module versions ModuleVersionCandidates names first: an
// action's modules are part of what it compares. An action that uses a
// module this plan publishes anew is no candidate: no version of it pins
// that version yet.
func RollbackCandidates(desired *manifest.Repo, live *tenant.State, opts Options) []string {
	var out []string
	byName := live.ByName()
	ms, _ := planModules(desired, live, opts)
	for _, a := range desired.Actions {
		l := byName[a.Name]
		if l == nil || l.Deployed == nil || ms.publishes(a) {
			continue
		}
		if who, _ := ownerOf(l, opts.owner()); who == foreign || who == integration {
			continue
		}
		if !desiredContent(a, opts.owner(), opts.SecretKey, ms.desired(a)).equal(draftContent(l, ms)) {
			out = append(out, a.Name)
		}
	}
	return out
}

// DraftMatches reports whether the live draft l is what the commit makes of
// a, pinning pins (the module versions, by module name): the same code,
// dependencies, runtime, trigger, owner, secrets and modules. The engine
// asks it of the drafts it waits on, to tell its own write from another
// writer's.
func DraftMatches(a *manifest.Action, l *tenant.Action, opts Options, pins []Pin) bool {
	return desiredContent(a, opts.owner(), opts.SecretKey, pins).equal(draftContent(l, nil))
}

// DraftPins are the module versions the live draft l pins, as DraftMatches
// takes them: a draft the plan deploys as it is keeps them, though a pin
// may be of an earlier version equal to the one the plan's new writes pin.
func DraftPins(l *tenant.Action) []Pin { return moduleSet(nil).canonical(l.Modules) }

// DraftDeployed reports whether l's deployed version holds its draft's
// content, stamp included: a deploy of the draft was made.
func DraftDeployed(l *tenant.Action) bool {
	return l.Deployed != nil && draftContent(l, nil).equal(versionContent(l.Deployed, l.Trigger, nil))
}
