package export

import (
	"slices"
	"strconv"
	"strings"

	"github.com/actionsync/actionsync/internal/tenant"
)

// maxDir bounds a directory name, well under every file system's limit.
const maxDir = 64

// DirName is a file-system-safe directory name for an action name:
// lowercase ASCII letters and digits, with every other run of characters
// one '-', and no '-' or '.' at either end; "action" when nothing is left.
// "Deny Blocked IPs!" is deny-blocked-ips.
func DirName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		default:
			dash = true
		}
	}
	s := strings.Trim(b.String(), "-.")
	if len(s) > maxDir {
		s = strings.Trim(s[:maxDir], "-.")
	}
	if s == "" {
		return "action"
	}
	return s
}

// dirNames gives each action that is exported a directory name of its
// own (see uniqueDirs); integrations are not exported.
func dirNames(actions []*tenant.Action) map[string]string {
	var names []string
	for _, a := range actions {
		if !a.Integration {
			names = append(names, a.Name)
		}
	}
	return uniqueDirs(names)
}

// uniqueDirs gives each name a directory name of its own: DirName, with
// -2, -3, ... where two names come to the same one. Names are taken in
// order, so the choice does not depend on the order the tenant lists them
// in.
func uniqueDirs(names []string) map[string]string {
	out := map[string]string{}
	taken := map[string]bool{}
	for _, name := range slices.Sorted(slices.Values(names)) {
		base := DirName(name)
		dir := base
		for n := 2; taken[dir]; n++ {
			dir = base + "-" + strconv.Itoa(n)
		}
		taken[dir] = true
		out[name] = dir
	}
	return out
}

// EnvName is the environment variable a secret's from_env placeholder
// names: the action's directory and the secret's name, upper snake case,
// joined by '_' (enrich-profile's API_KEY is ENRICH_PROFILE_API_KEY).
func EnvName(dir, secret string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(dir + "_" + secret) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s[0] >= '0' && s[0] <= '9' {
		s = "ACTION_" + s
	}
	return s
}
