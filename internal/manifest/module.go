package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/actionsync/actionsync/internal/tenant"
	"gopkg.in/yaml.v3"
)

// Auth0's documented limits of Action Modules, checked by the loader so
// that a repo past one is refused with its file and line before anything
// is written (internal/localtenant enforces the same, limits.go there):
//   - a module's code is at most 65,536 characters (the maxLength of
//     CreateActionModuleRequestContent.code), actionsync's stamp line
//     included;
//   - at most 10 npm dependencies and 30 secrets per module, as for actions
//     (https://auth0.com/docs/troubleshoot/customer-support/operational-policies/entity-limit-policy);
//   - a module secret's name has at most 255 characters
//     (ActionModuleSecretRequest);
//   - an action uses at most 3 modules ("Actions Modules per Action").
const (
	MaxModuleCode       = 65536
	maxModuleDeps       = 10
	maxModuleSecrets    = 30
	maxModuleSecretName = 255
	maxModulesPerAction = 3
	// maxModuleFile bounds module.yaml, far above what 10 dependencies and
	// 30 secrets take.
	maxModuleFile = 256 << 10
)

const modulesDir = "modules"

// moduleName is what Auth0 accepts as a module's name: "Must start with a
// lowercase letter or digit and contain only lowercase letters, digits,
// underscores, and hyphens" (auth0-cli's actions modules create), at most
// 255 characters (the API's maxLength).
var moduleName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,254}$`)

// Module is one Action Module of the repo: shared code that actions list
// under modules: and require as actions:<name>. Each sync publishes it as
// a new version when it changed, and the actions that use it pin that
// version.
type Module struct {
	Name         string
	Dir          string // the module's directory, relative to the repo root
	CodePath     string // relative to the repo root
	Code         string
	Dependencies []tenant.Dependency // exact versions, sorted by name
	Secrets      []Secret            // sorted by name

	pos map[string]int // line of each key of module.yaml
}

// File is the path of the module's module.yaml, relative to the repo root.
func (m *Module) File() string { return m.Dir + "/module.yaml" }

// Line is the line of key in module.yaml, or 1 when it is not there.
func (m *Module) Line(key string) int {
	if n, ok := m.pos[key]; ok {
		return n
	}
	return 1
}

// Module returns the repo's module called name, or nil.
func (r *Repo) Module(name string) *Module {
	i := sort.Search(len(r.Modules), func(i int) bool { return r.Modules[i].Name >= name })
	if i < len(r.Modules) && r.Modules[i].Name == name {
		return r.Modules[i]
	}
	return nil
}

// Users names the repo's actions that use the module called name, by name.
func (r *Repo) Users(name string) []string {
	var out []string
	for _, a := range r.Actions {
		if slices.Contains(a.Modules, name) {
			out = append(out, a.Name)
		}
	}
	return out
}

// loadModules reads modules/<dir>/module.yaml for every directory of
// modules/, when the repo has one.
func (l *loader) loadModules() {
	real, err := resolve(l.fsys, modulesDir)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var dirs []fs.DirEntry
	if err == nil {
		dirs, err = fs.ReadDir(l.fsys, real)
	}
	if err != nil {
		l.add(&Error{Path: modulesDir, Err: describe(modulesDir, err)})
		return
	}
	for _, d := range dirs {
		p := path.Join(modulesDir, d.Name())
		switch {
		case strings.HasPrefix(d.Name(), "."):
		case d.IsDir() && d.Type()&fs.ModeSymlink == 0:
			l.loadModule(p)
		default:
			l.add(errf(p, 0, "not a directory: each module is a directory of its own holding module.yaml"))
		}
	}
	sort.Slice(l.repo.Modules, func(i, j int) bool { return l.repo.Modules[i].Name < l.repo.Modules[j].Name })
	for i := 1; i < len(l.repo.Modules); i++ {
		m, prev := l.repo.Modules[i], l.repo.Modules[i-1]
		if m.Name == prev.Name {
			l.add(errf(m.File(), m.Line("name"), "duplicate module name %q (also in %s)", m.Name, prev.File()))
		}
	}
}

// loadModule reads dir/module.yaml and the code it names.
func (l *loader) loadModule(dir string) {
	file := dir + "/module.yaml"
	b, err := readFile(l.fsys, file, maxModuleFile, "the bound on module.yaml")
	if err != nil {
		err = describe(file, err)
		if errors.Is(err, fs.ErrNotExist) {
			err = errors.New("missing: every directory under modules/ holds a module.yaml")
		}
		l.add(&Error{Path: file, Err: err})
		return
	}
	root := l.parse(file, b)
	if root == nil {
		return
	}
	m := &Module{Name: path.Base(dir), Dir: dir, CodePath: "index.js", pos: map[string]int{}}
	before := len(l.errs)
	l.refuseModuleUse(file, root)
	var deps, secrets *yaml.Node
	l.fields(file, "module.yaml", root, map[string]func(*yaml.Node){
		"name":         l.str(file, "name", &m.Name, false),
		"code":         l.str(file, "code", &m.CodePath, false),
		"dependencies": func(n *yaml.Node) { deps = n },
		"secrets":      func(n *yaml.Node) { secrets = n },
	})
	recordLines(root, "", m.pos)
	l.moduleParts(file, m, deps, secrets)
	if !moduleName.MatchString(m.Name) {
		l.add(errf(file, m.Line("name"), "name %q: a module's name is 1 to 255 lowercase letters, digits, '_' and '-', starting with a letter or digit", m.Name))
	}
	if len(l.errs) == before {
		l.readModuleCode(file, m)
	}
	l.repo.Modules = append(l.repo.Modules, m)
}

// refuseModuleUse reports a modules: key in module.yaml, and drops it from
// root: Auth0 lets a module depend on npm packages, not on other modules,
// so there are no cycles of use to check.
func (l *loader) refuseModuleUse(file string, root *yaml.Node) {
	if root.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Value == "modules" {
			l.add(errf(file, k.Line, "modules: a module cannot use other modules (Auth0: \"Each Action Module can have dependencies to NPM Modules, but not to other Actions Modules\")"))
			root.Content = slices.Delete(root.Content, i, i+2)
			return
		}
	}
}

// moduleParts reads a module's dependencies and secrets as an action's
// are read, within a module's limits.
func (l *loader) moduleParts(file string, m *Module, deps, secrets *yaml.Node) {
	var parts Action
	if deps != nil {
		l.dependencies(file, moduleLimits, &parts, deps)
	}
	if secrets != nil {
		l.secrets(file, moduleLimits, &parts, secrets)
	}
	m.Dependencies, m.Secrets = parts.Dependencies, parts.Secrets
}

// readModuleCode reads the code module.yaml names, inside the module's
// directory, within Auth0's limit on a module's code once the stamp line
// is appended.
func (l *loader) readModuleCode(file string, m *Module) {
	room := stampRoom(m.Secrets)
	what := fmt.Sprintf("with %d more for actionsync's stamp line, Auth0 allows at most %s characters of code per module", room, commas(MaxModuleCode))
	p, b, ok := l.readCodeFile(file, m.Dir, m.CodePath, m.Line("code"), MaxModuleCode-int64(room), what)
	if !ok {
		return
	}
	if e := checkText(p, b); e != nil {
		l.add(e)
		return
	}
	m.CodePath, m.Code = p, string(b)
}

// actionModules reads an action's modules: the names of the modules of the
// repo it uses, each once, at most maxModulesPerAction.
func (l *loader) actionModules(file string, a *Action, n *yaml.Node) {
	if n.Kind == yaml.SequenceNode && len(n.Content) > maxModulesPerAction {
		l.add(errf(file, n.Line, "modules: %d listed; Auth0 allows at most %d modules per action", len(n.Content), maxModulesPerAction))
	}
	a.moduleLines = map[string]int{}
	l.list(file, "modules", n, func(i int, item *yaml.Node) {
		var name string
		l.str(file, fmt.Sprintf("modules[%d]", i), &name, false)(item)
		switch {
		case name == "":
		case a.moduleLines[name] > 0:
			l.add(errf(file, item.Line, "modules[%d]: module %s is listed twice", i, name))
		default:
			a.moduleLines[name] = item.Line
			a.Modules = append(a.Modules, name)
		}
	})
	slices.Sort(a.Modules)
}

// checkModuleUse reports actions that use a module the repo does not hold.
func (l *loader) checkModuleUse() {
	var known []string
	for _, m := range l.repo.Modules {
		known = append(known, m.Name)
	}
	known = slices.Compact(known)
	for _, a := range l.repo.Actions {
		for _, name := range a.Modules {
			if l.repo.Module(name) == nil {
				l.add(errf(a.File(), a.moduleLines[name], "modules: no module %q in modules/ (the repo has: %s)", name, orNone(known)))
			}
		}
		for _, r := range moduleRequires(a.Code) {
			if !slices.Contains(a.Modules, r.name) {
				l.add(errf(a.CodePath, r.line, "requires actions:%s, which the modules: of %s does not list: Auth0 would fail this require on every run", r.name, a.File()))
			}
		}
	}
	for _, m := range l.repo.Modules {
		for _, r := range moduleRequires(m.Code) {
			l.add(errf(m.CodePath, r.line, "requires actions:%s: a module cannot use other modules (Auth0: \"Each Action Module can have dependencies to NPM Modules, but not to other Actions Modules\")", r.name))
		}
	}
}

// requireModule is a require of an Action Module with a literal name, as
// Auth0's runtime resolves them: require('actions:<name>').
var requireModule = regexp.MustCompile("require\\s*\\(\\s*['\"`]actions:([^'\"`]*)['\"`]\\s*\\)")

// moduleRequire is one such require in code: the module's name and its line.
type moduleRequire struct {
	name string
	line int
}

// moduleRequires finds code's requires of Action Modules by a literal
// name; one built at run time is not seen.
func moduleRequires(code string) []moduleRequire {
	var out []moduleRequire
	for _, m := range requireModule.FindAllStringSubmatchIndex(code, -1) {
		out = append(out, moduleRequire{name: code[m[2]:m[3]], line: 1 + strings.Count(code[:m[0]], "\n")})
	}
	return out
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
