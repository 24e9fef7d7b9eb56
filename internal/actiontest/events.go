package actiontest

import (
	"embed"
	"encoding/json"
	"io/fs"
	"sort"
	"strings"
)

// events holds the default event of each trigger, events/<trigger>.json,
// shaped after Auth0's documentation of each trigger's event object
// (docs/TESTS.md links each page).
//
//go:embed events/*.json
var events embed.FS

// DefaultEvent returns a fresh copy of the realistic event a case's event
// is merged over for trigger, and whether there is one; a trigger without
// one gets an empty event.
func DefaultEvent(trigger string) (map[string]any, bool) {
	b, err := events.ReadFile("events/" + trigger + ".json")
	if err != nil {
		return map[string]any{}, false
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic("actiontest: default event " + trigger + ": " + err.Error())
	}
	return m, true
}

// DefaultEventTriggers lists the triggers that have a default event.
func DefaultEventTriggers() []string {
	names, _ := fs.Glob(events, "events/*.json")
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.TrimSuffix(strings.TrimPrefix(n, "events/"), ".json")
	}
	sort.Strings(out)
	return out
}

// Merge returns base with over merged in: mappings merge key by key, at
// every depth; anything else in over (a list, a scalar, null) replaces what
// base has. Neither argument is changed.
func Merge(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		b, bok := out[k].(map[string]any)
		o, ook := v.(map[string]any)
		if bok && ook {
			out[k] = Merge(b, o)
		} else {
			out[k] = v
		}
	}
	return out
}
