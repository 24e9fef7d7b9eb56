package manifest

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// TriggersFile is the file at the repo root that orders the bindings.
const TriggersFile = "triggers.yaml"

// loadTriggers reads triggers.yaml: trigger id → ordered list of action
// names or {name, display_name} mappings.
func (l *loader) loadTriggers(b []byte) {
	root := l.parse(TriggersFile, b)
	if root == nil {
		return
	}
	if root.Kind != yaml.MappingNode {
		l.add(errf(TriggersFile, root.Line, "want a mapping of trigger id to a list of actions, got %s", kindName(root)))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		t := &Trigger{ID: k.Value, Line: k.Line}
		if seen[t.ID] {
			continue // ParseYAML said so
		}
		seen[t.ID] = true
		if v.Kind == yaml.SequenceNode && len(v.Content) > MaxBindings {
			l.add(errf(TriggersFile, k.Line, "%s: %d actions bound; Auth0 runs at most %d actions per trigger", t.ID, len(v.Content), MaxBindings))
			continue
		}
		bound := map[string]bool{}
		l.list(TriggersFile, t.ID, v, func(j int, item *yaml.Node) {
			if b, ok := l.binding(t.ID, j, item); ok {
				l.addBinding(t, b, bound)
			}
		})
		l.repo.Triggers = append(l.repo.Triggers, t)
	}
}

func (l *loader) binding(trigger string, j int, item *yaml.Node) (Binding, bool) {
	b := Binding{Line: item.Line}
	where := fmt.Sprintf("%s[%d]", trigger, j)
	if item.Kind == yaml.ScalarNode && item.Tag == "!!str" {
		b.Action = item.Value
	} else {
		before := len(l.errs)
		l.fields(TriggersFile, where, item, map[string]func(*yaml.Node){
			"name":         l.str(TriggersFile, where+".name", &b.Action, false),
			"display_name": l.str(TriggersFile, where+".display_name", &b.DisplayName, false),
		})
		if len(l.errs) > before {
			return b, false
		}
	}
	if b.Action == "" {
		l.add(errf(TriggersFile, item.Line, "%s: want an action name", where))
		return b, false
	}
	if b.DisplayName == "" {
		b.DisplayName = b.Action
	}
	if err := checkName(b.Action); err != nil {
		l.add(errf(TriggersFile, item.Line, "%s: action name %s: %v", where, quoteName(b.Action), err))
		return b, false
	}
	if err := checkName(b.DisplayName); err != nil {
		l.add(errf(TriggersFile, item.Line, "%s: display name %s: %v", where, quoteName(b.DisplayName), err))
		return b, false
	}
	return b, true
}

func (l *loader) addBinding(t *Trigger, b Binding, bound map[string]bool) {
	if bound[b.Action] {
		l.add(errf(TriggersFile, b.Line, "%s: %s is bound twice", t.ID, b.Action))
		return
	}
	bound[b.Action] = true
	if a := l.repo.Action(b.Action); a != nil && a.Trigger.ID != "" && a.Trigger.ID != t.ID {
		l.add(errf(TriggersFile, b.Line, "%s: action %s supports the %s trigger, not %s (%s:%d)",
			t.ID, b.Action, a.Trigger.ID, t.ID, a.File(), a.Line("trigger.id")))
		return
	}
	t.Bindings = append(t.Bindings, b)
}
