package diff

import (
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/tenant"
)

// VersionFields names the fields in which version v of a live action (of
// trigger trig) differs from action a of a commit, written by owner: the
// comparison the planner makes, but for secrets, which compare by name,
// since a commit holds no secret values. It tells which commit a live
// version came from.
// The module versions v pins are not compared: PinFields compares them,
// given the modules' versions.
func VersionFields(a *manifest.Action, owner string, v *tenant.Version, trig tenant.TriggerRef) []tenant.Field {
	want := desiredContent(a, owner, nil, nil)
	got := versionContent(v, trig, nil)
	want.Stamp.Secrets, got.Stamp.Secrets = secretsByName(want.Stamp.Secrets), secretsByName(got.Stamp.Secrets)
	got.Pins = nil
	return want.differences(got)
}

// DraftFields names the fields in which the draft of l differs from its
// deployed version, the stamp aside: a draft waiting to be deployed. Nil
// when they are the same or l was never deployed.
func DraftFields(l *tenant.Action) []tenant.Field {
	if l.Deployed == nil {
		return nil
	}
	return draftContent(l, nil).build().differences(versionContent(l.Deployed, l.Trigger, nil).build())
}

func secretsByName(fps map[string]string) map[string]string {
	out := make(map[string]string, len(fps))
	for name := range fps {
		out[name] = ""
	}
	return out
}
