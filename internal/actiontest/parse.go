package actiontest

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/actionsync/actionsync/internal/manifest"
	"gopkg.in/yaml.v3"
)

// The keys a case may have.
const (
	keyName    = "name"
	keyEvent   = "event"
	keySecrets = "secrets"
	keyExpect  = "expect"
	keyThrows  = "throws"
)

var methodPath = regexp.MustCompile(`^api(\.[A-Za-z_$][A-Za-z0-9_$]*)+$`)

// maxDepth bounds the nesting of values in a test file.
const maxDepth = 64

// file loads the cases of one file: for action (and its trigger), or for
// trigger's flow when action is "".
func (l *loader) file(p, action, trigger string) {
	b, ok := l.readFile(p)
	if !ok {
		return
	}
	root := l.parse(p, b)
	if root == nil {
		return
	}
	if root.Kind != yaml.SequenceNode {
		l.add(p, root.Line, "want a list of test cases, got %s", kindName(root))
		return
	}
	seen := map[string]int{}
	for i, item := range root.Content {
		c := l.testCase(p, i, item, action, trigger)
		if c == nil {
			continue
		}
		if line, dup := seen[c.Name]; dup {
			l.add(p, item.Line, "duplicate case name %q (also at line %d)", c.Name, line)
			continue
		}
		seen[c.Name] = item.Line
		l.suite.Cases = append(l.suite.Cases, c)
	}
}

// parse reads a file's one YAML document into its root node, as the
// manifest's files are read (manifest.ParseYAML: a second document or a
// key given twice is an error); an empty file is an empty list. Anchors
// are refused wherever they are.
func (l *loader) parse(p string, b []byte) *yaml.Node {
	root, errs := manifest.ParseYAML(p, b)
	l.errs = append(l.errs, errs...)
	switch {
	case root == nil && len(errs) == 0:
		return &yaml.Node{Kind: yaml.SequenceNode, Line: 1}
	case root == nil:
		return nil
	}
	l.anchors(p, root)
	return root
}

// anchors reports each anchor (&name) under n: test files hold none, as
// they hold no alias.
func (l *loader) anchors(p string, n *yaml.Node) {
	if n.Anchor != "" {
		l.add(p, n.Line, "an anchor (&%s): anchors and aliases are not supported in test files", n.Anchor)
	}
	for _, c := range n.Content {
		l.anchors(p, c)
	}
}

// testCase reads one case, reporting every problem in it; nil when it has
// one.
func (l *loader) testCase(p string, i int, n *yaml.Node, action, trigger string) *Case {
	where := fmt.Sprintf("case %d", i+1)
	if n.Kind != yaml.MappingNode {
		l.add(p, n.Line, "%s: want a mapping (name, event, secrets, expect, throws), got %s", where, kindName(n))
		return nil
	}
	c := &Case{File: p, Line: n.Line, Action: action, Trigger: trigger, Event: map[string]any{}}
	if v := lookup(n, keyName); v != nil && v.Kind == yaml.ScalarNode && v.Tag == "!!str" && v.Value != "" {
		c.Name = v.Value
		where = fmt.Sprintf("case %q", c.Name)
	}
	before := len(l.errs)
	var expect, throws bool
	l.fields(p, where, n, map[string]func(*yaml.Node){
		keyName:    func(v *yaml.Node) { l.name(p, where, v) },
		keyEvent:   func(v *yaml.Node) { c.Event = l.event(p, where, v) },
		keySecrets: func(v *yaml.Node) { c.Secrets = l.secrets(p, where, v, action, trigger) },
		keyExpect:  func(v *yaml.Node) { c.Expect, expect = l.expect(p, where, v), true },
		keyThrows:  func(v *yaml.Node) { c.Throws, throws = l.throws(p, where, v), true },
	})
	if lookup(n, keyName) == nil {
		l.add(p, n.Line, "%s: missing required key \"name\"", where)
	}
	if !expect && !throws && len(l.errs) == before {
		l.add(p, n.Line, "%s: says nothing to check: give expect (the api calls in order; [] for none), throws (a substring of the thrown message), or both", where)
	}
	if len(l.errs) > before {
		return nil
	}
	return c
}

func lookup(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// fields calls set for each known key of mapping n and reports the others.
func (l *loader) fields(p, where string, n *yaml.Node, set map[string]func(*yaml.Node)) {
	known := make([]string, 0, len(set))
	for k := range set {
		known = append(known, k)
	}
	sort.Strings(known)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f, ok := set[k.Value]
		if !ok {
			l.add(p, k.Line, "%s: unknown key %q (known: %s)", where, k.Value, strings.Join(known, ", "))
			continue
		}
		f(v)
	}
}

func (l *loader) name(p, where string, v *yaml.Node) {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!str" || strings.TrimSpace(v.Value) == "" {
		l.add(p, v.Line, "%s: name: want a non-empty string, got %s", where, kindName(v))
	}
}

func (l *loader) event(p, where string, v *yaml.Node) map[string]any {
	if isNull(v) {
		return map[string]any{}
	}
	if v.Kind != yaml.MappingNode {
		l.add(p, v.Line, "%s: event: want a mapping (merged over the trigger's default event), got %s", where, kindName(v))
		return nil
	}
	val, ok := l.value(p, where+": event", v, 0)
	if !ok {
		return nil
	}
	return val.(map[string]any)
}

// secrets reads secret overrides; each must name a secret of the action, or
// of an action of the flow.
func (l *loader) secrets(p, where string, v *yaml.Node, action, trigger string) map[string]string {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		l.add(p, v.Line, "%s: secrets: want a mapping of secret name to value, got %s", where, kindName(v))
		return nil
	}
	known := l.secretNames(action, trigger)
	out := map[string]string{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		switch {
		case !slices.Contains(known, k.Value):
			l.add(p, k.Line, "%s: secrets: %s is not a secret of %s (its secrets: %s)", where, k.Value, subject(action, trigger), orNone(known))
		case val.Kind != yaml.ScalarNode || val.Tag != "!!str":
			// a secret is a string in Auth0; 5 is not "5" to code that compares
			l.add(p, val.Line, "%s: secrets: %s: want a string (quote it), got %s", where, k.Value, kindName(val))
		default:
			out[k.Value] = val.Value
		}
	}
	return out
}

func subject(action, trigger string) string {
	if action == "" {
		return "the actions of the " + trigger + " flow"
	}
	return action
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// secretNames are the secrets action has, or every action bound to
// trigger.
func (l *loader) secretNames(action, trigger string) []string {
	var names []string
	add := func(name string) {
		if a := l.repo.Action(name); a != nil {
			for _, s := range a.Secrets {
				if !slices.Contains(names, s.Name) {
					names = append(names, s.Name)
				}
			}
		}
	}
	if action != "" {
		add(action)
	} else if t := l.repo.Trigger(trigger); t != nil {
		for _, b := range t.Bindings {
			add(b.Action)
		}
	}
	sort.Strings(names)
	return names
}

// expect reads the list of calls: each a one-key mapping of method path to
// its argument list.
func (l *loader) expect(p, where string, v *yaml.Node) []Call {
	if v.Kind != yaml.SequenceNode {
		l.add(p, v.Line, "%s: expect: want a list of api calls ([] for none), got %s", where, kindName(v))
		return nil
	}
	calls := []Call{}
	for j, item := range v.Content {
		at := fmt.Sprintf("%s: expect[%d]", where, j)
		if item.Kind != yaml.MappingNode || len(item.Content) != 2 {
			l.add(p, item.Line, "%s: want one method path and its arguments, such as `- api.access.deny: [\"blocked\"]`, got %s", at, describe(item))
			continue
		}
		k, args := item.Content[0], item.Content[1]
		if !methodPath.MatchString(k.Value) {
			l.add(p, k.Line, "%s: %q is not an api method path such as api.access.deny", at, k.Value)
			continue
		}
		if args.Kind != yaml.SequenceNode {
			l.add(p, args.Line, "%s: %s: want the list of its arguments ([] for none), got %s", at, k.Value, kindName(args))
			continue
		}
		val, ok := l.value(p, at, args, 0)
		if ok {
			calls = append(calls, Call{Method: strings.TrimPrefix(k.Value, "api."), Args: val.([]any)})
		}
	}
	return calls
}

func (l *loader) throws(p, where string, v *yaml.Node) string {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!str" || v.Value == "" {
		l.add(p, v.Line, "%s: throws: want a non-empty string (a substring of the thrown message), got %s", where, kindName(v))
		return ""
	}
	return v.Value
}

func describe(n *yaml.Node) string {
	if n.Kind == yaml.MappingNode {
		return fmt.Sprintf("a mapping of %d keys", len(n.Content)/2)
	}
	return kindName(n)
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// value converts a node to what JSON would decode: map[string]any, []any,
// string, float64, bool or nil. Anchors and aliases are refused, which also
// keeps a small file from expanding into a huge value.
func (l *loader) value(p, where string, n *yaml.Node, depth int) (any, bool) {
	if depth > maxDepth {
		l.add(p, n.Line, "%s: nested deeper than %d", where, maxDepth)
		return nil, false
	}
	switch n.Kind {
	case yaml.AliasNode:
		l.add(p, n.Line, "%s: aliases (*%s) are not supported in test files", where, n.Value)
		return nil, false
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, ok := l.value(p, where, n.Content[i+1], depth+1)
			if !ok {
				return nil, false
			}
			m[n.Content[i].Value] = v
		}
		return m, true
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, item := range n.Content {
			v, ok := l.value(p, where, item, depth+1)
			if !ok {
				return nil, false
			}
			s[i] = v
		}
		return s, true
	}
	return l.scalar(p, where, n)
}

func (l *loader) scalar(p, where string, n *yaml.Node) (any, bool) {
	switch n.Tag {
	case "!!null":
		return nil, true
	case "!!bool":
		var b bool
		n.Decode(&b)
		return b, true
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			l.add(p, n.Line, "%s: %s is not a number JSON can hold", where, n.Value)
			return nil, false
		}
		return f, true
	}
	return n.Value, true
}

// kindNames name the kinds of YAML value in errors, by their short tag.
var kindNames = map[string]string{
	"!!seq": "a list", "!!map": "a mapping", "!!null": "null",
	"!!bool": "a boolean", "!!int": "a number", "!!float": "a number",
}

func kindName(n *yaml.Node) string {
	if n.Kind == yaml.AliasNode {
		return "an alias"
	}
	if k, ok := kindNames[n.ShortTag()]; ok {
		return k
	}
	return "a string"
}
