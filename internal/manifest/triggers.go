package manifest

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

const triggersFile = "triggers.yaml"

// loadTriggers reads triggers.yaml: trigger id → ordered list of action
// names or {name, display_name} mappings.
func (l *loader) loadTriggers(b []byte) {
	root := l.parse(triggersFile, b)
	if root == nil {
		return
	}
	if root.Kind != yaml.MappingNode {
		l.add(errf(triggersFile, root.Line, "want a mapping of trigger id to a list of actions, got %s", kindName(root)))
		return
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		t := &Trigger{ID: k.Value, Line: k.Line}
		if l.repo.Trigger(t.ID) != nil {
			l.add(errf(triggersFile, k.Line, "trigger %s is listed twice", t.ID))
			continue
		}
		l.list(triggersFile, t.ID, v, func(j int, item *yaml.Node) {
			if b, ok := l.binding(t.ID, j, item); ok {
				l.addBinding(t, b)
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
		l.fields(triggersFile, where, item, map[string]func(*yaml.Node){
			"name":         l.str(triggersFile, where+".name", &b.Action, false),
			"display_name": l.str(triggersFile, where+".display_name", &b.DisplayName, false),
		})
		if len(l.errs) > before {
			return b, false
		}
	}
	if b.Action == "" {
		l.add(errf(triggersFile, item.Line, "%s: want an action name", where))
		return b, false
	}
	if b.DisplayName == "" {
		b.DisplayName = b.Action
	}
	return b, true
}

func (l *loader) addBinding(t *Trigger, b Binding) {
	for _, o := range t.Bindings {
		if o.Action == b.Action {
			l.add(errf(triggersFile, b.Line, "%s: %s is bound twice", t.ID, b.Action))
			return
		}
	}
	if a := l.repo.Action(b.Action); a != nil && a.Trigger.ID != "" && a.Trigger.ID != t.ID {
		l.add(errf(triggersFile, b.Line, "%s: action %s supports the %s trigger, not %s (%s:%d)",
			t.ID, b.Action, a.Trigger.ID, t.ID, a.File(), a.Line("trigger.id")))
		return
	}
	t.Bindings = append(t.Bindings, b)
}
