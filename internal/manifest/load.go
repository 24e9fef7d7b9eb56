package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Options are where Load reads secret values from.
type Options struct {
	// Getenv reads from_env sources; nil means os.Getenv.
	Getenv func(string) string
	// ReadFile reads from_file sources (absolute paths on the machine, not in
	// the repo); nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

// Load reads and validates the repo at the root of fsys. It returns every
// problem at once as Errors, each with file and line; ErrEmpty for a tree
// that holds no repo at all.
func Load(fsys fs.FS, opts Options) (*Repo, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	l := &loader{fsys: fsys, opts: opts, repo: &Repo{}}
	dirs, errActions := fs.ReadDir(fsys, "actions")
	trig, errTriggers := fs.ReadFile(fsys, "triggers.yaml")
	if errors.Is(errActions, fs.ErrNotExist) && errors.Is(errTriggers, fs.ErrNotExist) {
		return nil, ErrEmpty
	}
	if errActions != nil && !errors.Is(errActions, fs.ErrNotExist) {
		return nil, fmt.Errorf("read actions/: %w", errActions)
	}
	for _, d := range dirs {
		if d.IsDir() {
			l.loadAction(path.Join("actions", d.Name()))
		}
	}
	sort.Slice(l.repo.Actions, func(i, j int) bool { return l.repo.Actions[i].Name < l.repo.Actions[j].Name })
	l.checkNames()
	l.loadModules()
	l.checkModuleUse()
	switch {
	case errors.Is(errTriggers, fs.ErrNotExist):
	case errTriggers != nil:
		return nil, fmt.Errorf("read triggers.yaml: %w", errTriggers)
	default:
		l.loadTriggers(trig)
	}
	if err := l.loadConfig(); err != nil {
		return nil, err
	}
	if len(l.errs) > 0 {
		return nil, l.errs.sorted()
	}
	return l.repo, nil
}

type loader struct {
	fsys fs.FS
	opts Options
	repo *Repo
	errs Errors
}

func (l *loader) add(e *Error) { l.errs = append(l.errs, e) }

// parse reads a YAML document into its root node.
func (l *loader) parse(file string, b []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		line := 0
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			fmt.Sscan(m[1], &line)
			msg = strings.Replace(msg, m[0], "yaml: ", 1)
		}
		l.add(&Error{Path: file, Line: line, Err: errors.New(msg)})
		return nil
	}
	if len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode, Line: 1}
	}
	return doc.Content[0]
}

var yamlLine = regexp.MustCompile(`yaml: line (\d+): `)

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case "!!null":
		return "null"
	case "!!bool":
		return "a boolean"
	case "!!int", "!!float":
		return "a number"
	}
	return "a string"
}

// fields walks a mapping node, calling set for each known key and reporting
// unknown keys and a node that is not a mapping.
func (l *loader) fields(file, where string, n *yaml.Node, set map[string]func(*yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		l.add(errf(file, n.Line, "%s: want a mapping, got %s", where, kindName(n)))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f, ok := set[k.Value]
		if !ok {
			known := make([]string, 0, len(set))
			for name := range set {
				known = append(known, name)
			}
			sort.Strings(known)
			l.add(errf(file, k.Line, "unknown key %q in %s (known: %s)", k.Value, where, strings.Join(known, ", ")))
			continue
		}
		f(v)
	}
}

// str stores a string scalar; numbers are accepted where allowNumber.
func (l *loader) str(file, key string, dst *string, allowNumber bool) func(*yaml.Node) {
	return func(n *yaml.Node) {
		ok := n.Kind == yaml.ScalarNode && (n.Tag == "!!str" || allowNumber && (n.Tag == "!!int" || n.Tag == "!!float"))
		if !ok {
			l.add(errf(file, n.Line, "%s: want a string, got %s", key, kindName(n)))
			return
		}
		*dst = n.Value
	}
}

func (l *loader) list(file, key string, n *yaml.Node, each func(int, *yaml.Node)) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		l.add(errf(file, n.Line, "%s: want a list, got %s", key, kindName(n)))
		return
	}
	for i, item := range n.Content {
		each(i, item)
	}
}
