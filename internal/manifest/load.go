package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
	// the repo); nil means reading the file, up to 64 KiB.
	ReadFile func(string) ([]byte, error)
	// Private are files and directories of the machine that a from_file
	// may not read, beside /proc, /sys and /dev (see SecretSourceError):
	// actionsync's own credential files and the repo's checkout.
	Private []string
	// Environment, when set, names the environment of actionsync.yaml whose
	// overlay applies: its excluded actions are left out (and unbound), its
	// secret sources replace the repo's. "" loads the repo as committed.
	Environment string
}

// Load reads and validates the repo at the root of fsys. It returns every
// problem at once as Errors, each with file and line; ErrEmpty for a tree
// that holds no repo at all.
//
// The repo is untrusted: every file is read through a size bound
// (MaxFileBytes, MaxCodeBytes), every YAML document through a bound on its
// nodes and depth, and symbolic links are resolved inside the repo (when
// fsys implements fs.ReadLinkFS, as source's trees do): a link out of it is
// an error naming the link and its target, never followed.
func Load(fsys fs.FS, opts Options) (*Repo, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.ReadFile == nil {
		opts.ReadFile = func(name string) ([]byte, error) { return readSecretFile(name, opts.Private) }
	}
	l := &loader{fsys: fsys, opts: opts, repo: &Repo{}, excludeLines: map[string]int{}}
	if err := l.loadConfig(); err != nil {
		return nil, err
	}
	l.selectEnvironment()
	dirs, errActions := l.readActions()
	trig, errTriggers := readFile(fsys, TriggersFile, MaxFileBytes, "the bound on triggers.yaml")
	if errors.Is(errActions, fs.ErrNotExist) && errors.Is(errTriggers, fs.ErrNotExist) {
		return nil, ErrEmpty
	}
	if errActions != nil && !errors.Is(errActions, fs.ErrNotExist) {
		l.add(&Error{Path: actionsDir, Err: describe(actionsDir, errActions)})
	}
	for _, d := range dirs {
		l.actionEntry(d)
	}
	sort.Slice(l.repo.Actions, func(i, j int) bool { return l.repo.Actions[i].Name < l.repo.Actions[j].Name })
	l.checkNames()
	l.loadModules()
	l.checkModuleUse()
	switch {
	case errors.Is(errTriggers, fs.ErrNotExist):
	case errTriggers != nil:
		l.add(&Error{Path: TriggersFile, Err: describe(TriggersFile, errTriggers)})
	default:
		l.loadTriggers(trig)
	}
	l.applyEnvironment()
	if len(l.errs) > 0 {
		return nil, l.errs.sorted()
	}
	return l.repo, nil
}

const actionsDir = "actions"

type loader struct {
	fsys fs.FS
	opts Options
	repo *Repo
	errs Errors
	// env is the environment whose overlay applies, or nil.
	env *Environment
	// excludeLines is the line of each environment's exclude entry, by
	// environment NUL action.
	excludeLines map[string]int
}

func (l *loader) add(e *Error) { l.errs = append(l.errs, e) }

// readActions lists actions/, resolving it first like any other path.
func (l *loader) readActions() ([]fs.DirEntry, error) {
	real, err := resolve(l.fsys, actionsDir)
	if err != nil {
		return nil, err
	}
	return fs.ReadDir(l.fsys, real)
}

// actionEntry loads one entry of actions/: a directory is an action; a
// symbolic link or a file there is an error, never skipped in silence.
// Names starting with a dot (.DS_Store, .gitkeep) are left alone.
func (l *loader) actionEntry(d fs.DirEntry) {
	p := path.Join(actionsDir, d.Name())
	switch {
	case strings.HasPrefix(d.Name(), "."):
	case d.Type()&fs.ModeSymlink != 0:
		target, _ := fs.ReadLink(l.fsys, p)
		if _, err := resolve(l.fsys, p); err != nil {
			l.add(&Error{Path: p, Err: describe(p, err)})
			return
		}
		l.add(errf(p, 0, "a symbolic link (-> %s): an action's directory must be a directory of its own", target))
	case d.IsDir():
		l.loadAction(p)
	default:
		l.add(errf(p, 0, "a file directly in actions/: each action is a directory holding action.yaml"))
	}
}

// parse reads a file's one YAML document into its root node (ParseYAML);
// a document past the bounds on nodes and depth is an error.
func (l *loader) parse(file string, b []byte) *yaml.Node {
	root, errs := ParseYAML(file, b)
	for _, e := range errs {
		l.add(e)
	}
	switch {
	case root == nil && len(errs) == 0:
		return &yaml.Node{Kind: yaml.MappingNode, Line: 1}
	case root == nil:
		return nil
	}
	if e := checkSize(file, root); e != nil {
		l.add(e)
		return nil
	}
	return root
}

// ParseYAML reads b, file's one YAML document, into its root node, as
// actionsync reads every YAML file of a repo: nil and no error for an
// empty file. A document that does not parse, or a second document, is an
// error and no root. A key given twice in one mapping (which a YAML decoder
// settles by keeping one of them in silence) is an error too, with the
// root, so that its other problems are found as well; the loaders keep the
// first and pass over the second.
func ParseYAML(file string, b []byte) (*yaml.Node, Errors) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, Errors{yamlError(file, err)}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, Errors{errf(file, next.Line, "a second YAML document: one document per file")}
	case !errors.Is(err, io.EOF):
		return nil, Errors{yamlError(file, err)}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	var errs Errors
	duplicateKeys(file, doc.Content[0], &errs)
	return doc.Content[0], errs
}

// duplicateKeys adds to errs each key given again in a mapping of n.
func duplicateKeys(file string, n *yaml.Node, errs *Errors) {
	if n.Kind == yaml.MappingNode {
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				continue
			}
			if first, ok := seen[k.Value]; ok {
				*errs = append(*errs, errf(file, k.Line, "%q is given twice in one mapping (first on line %d)", k.Value, first))
				continue
			}
			seen[k.Value] = k.Line
		}
	}
	for _, c := range n.Content {
		duplicateKeys(file, c, errs)
	}
}

func yamlError(file string, err error) *Error {
	line := 0
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &line)
		msg = strings.Replace(msg, m[0], "yaml: ", 1)
	}
	return &Error{Path: file, Line: line, Err: errors.New(msg)}
}

// Bounds on a YAML document: far above what an action.yaml (at most 10
// dependencies and 30 secrets) or a triggers.yaml (20 bindings a trigger)
// needs.
const (
	maxYAMLNodes = 20000
	maxYAMLDepth = 16
)

// checkSize refuses a document of more than maxYAMLNodes nodes, or nested
// deeper than maxYAMLDepth. Aliases count once: the loader never expands
// them.
func checkSize(file string, doc *yaml.Node) *Error {
	nodes := 0
	var walk func(n *yaml.Node, depth int) *Error
	walk = func(n *yaml.Node, depth int) *Error {
		if nodes++; nodes > maxYAMLNodes {
			return errf(file, n.Line, "more than %d YAML nodes: this is not an actionsync file", maxYAMLNodes)
		}
		if depth > maxYAMLDepth {
			return errf(file, n.Line, "YAML nested more than %d deep: this is not an actionsync file", maxYAMLDepth)
		}
		for _, c := range n.Content {
			if e := walk(c, depth+1); e != nil {
				return e
			}
		}
		return nil
	}
	return walk(doc, 0)
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
