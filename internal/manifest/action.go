package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/actionsync/actionsync/internal/tenant"
	"gopkg.in/yaml.v3"
)

var (
	runtimePattern = regexp.MustCompile(`^node[0-9]+$`)
	exactVersion   = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	npmName        = regexp.MustCompile(`^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$`)
	secretName     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// loadAction reads dir/action.yaml and the code it names.
func (l *loader) loadAction(dir string) {
	file := dir + "/action.yaml"
	b, err := readFile(l.fsys, file, MaxFileBytes, "the bound on action.yaml")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.add(&Error{Path: file, Err: errors.New("missing: every directory under actions/ holds an action.yaml")})
		return
	case err != nil:
		l.add(&Error{Path: file, Err: describe(file, err)})
		return
	}
	root := l.parse(file, b)
	if root == nil {
		return
	}
	a := &Action{Name: path.Base(dir), Dir: dir, Runtime: DefaultRuntime, CodePath: "index.js", pos: map[string]int{}}
	before := len(l.errs)
	var deps, secrets, modules *yaml.Node
	l.fields(file, "action.yaml", root, map[string]func(*yaml.Node){
		"modules":      func(n *yaml.Node) { modules = n },
		"name":         l.str(file, "name", &a.Name, false),
		"runtime":      l.str(file, "runtime", &a.Runtime, false),
		"code":         l.str(file, "code", &a.CodePath, false),
		"trigger":      func(n *yaml.Node) { l.trigger(file, a, n) },
		"dependencies": func(n *yaml.Node) { deps = n },
		"secrets":      func(n *yaml.Node) { secrets = n },
	})
	recordLines(root, "", a.pos)
	if _, ok := a.pos["trigger"]; !ok && root.Kind == yaml.MappingNode {
		l.add(errf(file, 1, "missing required key \"trigger\" (the one trigger this action supports: id and version)"))
	}
	if deps != nil {
		l.dependencies(file, actionLimits, a, deps)
	}
	if secrets != nil {
		l.secrets(file, actionLimits, a, secrets)
	}
	l.addEnvSecrets(a)
	if modules != nil {
		l.actionModules(file, a, modules)
	}
	l.checkAction(file, a)
	if len(l.errs) == before {
		l.readCode(file, a)
	}
	l.repo.Actions = append(l.repo.Actions, a)
}

// recordLines notes the line of every mapping key, by dotted path.
func recordLines(n *yaml.Node, prefix string, pos map[string]int) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := prefix + n.Content[i].Value
		pos[key] = n.Content[i].Line
		recordLines(n.Content[i+1], key+".", pos)
	}
}

func (l *loader) trigger(file string, a *Action, n *yaml.Node) {
	l.fields(file, "trigger", n, map[string]func(*yaml.Node){
		"id":      l.str(file, "trigger.id", &a.Trigger.ID, false),
		"version": l.str(file, "trigger.version", &a.Trigger.Version, false),
	})
	if n.Kind == yaml.MappingNode && a.Trigger.ID == "" {
		l.add(errf(file, n.Line, "trigger: missing required key \"id\""))
	}
}

// dependencies reads a dependencies list into a, at most lim.deps of them.
func (l *loader) dependencies(file string, lim partLimits, a *Action, n *yaml.Node) {
	if n.Kind == yaml.SequenceNode && len(n.Content) > lim.deps {
		l.add(errf(file, n.Line, "dependencies: %d listed; Auth0 allows at most %d npm dependencies per %s", len(n.Content), lim.deps, lim.of))
		return
	}
	seen := map[string]bool{}
	l.list(file, "dependencies", n, func(i int, item *yaml.Node) {
		var d tenant.Dependency
		where := fmt.Sprintf("dependencies[%d]", i)
		l.fields(file, where, item, map[string]func(*yaml.Node){
			"name":    l.str(file, where+".name", &d.Name, false),
			"version": l.str(file, where+".version", &d.Version, true),
		})
		switch {
		case item.Kind != yaml.MappingNode:
		case !npmName.MatchString(d.Name):
			l.add(errf(file, item.Line, "%s: %q is not an npm package name", where, d.Name))
		case !exactVersion.MatchString(d.Version):
			l.add(errf(file, item.Line, "%s: version %q of %s is not an exact version (such as 1.7.9)", where, d.Version, d.Name))
		case seen[d.Name]:
			l.add(errf(file, item.Line, "%s: %s is listed twice", where, d.Name))
		default:
			seen[d.Name] = true
			a.Dependencies = append(a.Dependencies, d)
		}
	})
	tenant.SortDependencies(a.Dependencies)
}

// secrets reads a secrets list into a: at most lim.secrets of them, each
// secret's value from its source, its name at most lim.secretName bytes
// (Auth0 allows an action's 128, a module's 255).
func (l *loader) secrets(file string, lim partLimits, a *Action, n *yaml.Node) {
	if n.Kind == yaml.SequenceNode && len(n.Content) > lim.secrets {
		l.add(errf(file, n.Line, "secrets: %d listed; Auth0 allows at most %d secrets per %s", len(n.Content), lim.secrets, lim.of))
		return
	}
	seen := map[string]bool{}
	l.list(file, "secrets", n, func(i int, item *yaml.Node) {
		var s Secret
		where := fmt.Sprintf("secrets[%d]", i)
		l.fields(file, where, item, map[string]func(*yaml.Node){
			"name":      l.str(file, where+".name", &s.Name, false),
			"from_env":  l.str(file, where+".from_env", &s.FromEnv, false),
			"from_file": l.str(file, where+".from_file", &s.FromFile, false),
		})
		if item.Kind != yaml.MappingNode {
			return
		}
		if len(s.Name) > lim.secretName {
			l.add(errf(file, item.Line, "%s: secret name of %d characters: Auth0 allows at most %d", where, len(s.Name), lim.secretName))
			return
		}
		if l.envSecretOf(a.Name, s.Name) != nil {
			return // the environment's source replaces it (addEnvSecrets)
		}
		if err := l.readSecret(a.Name, &s); err != nil {
			l.add(errf(file, item.Line, "%s: %v", where, err))
			return
		}
		if seen[s.Name] {
			l.add(errf(file, item.Line, "%s: secret %s is listed twice", where, s.Name))
		}
		seen[s.Name] = true
		a.Secrets = append(a.Secrets, s)
	})
	sort.Slice(a.Secrets, func(i, j int) bool { return a.Secrets[i].Name < a.Secrets[j].Name })
}

// secretValue reads the secret from its one source. Errors name the source,
// never the value.
func (l *loader) secretValue(s *Secret) error {
	switch {
	case !secretName.MatchString(s.Name):
		return fmt.Errorf("secret name %q: want letters, digits and _", s.Name)
	case s.Literal:
		if s.Value == "" {
			return fmt.Errorf("secret %s: the value is empty", s.Name)
		}
	case (s.FromEnv == "") == (s.FromFile == ""):
		return fmt.Errorf("secret %s: want exactly one of from_env and from_file", s.Name)
	case s.FromEnv != "":
		if err := l.checkEnvSource(s.FromEnv); err != nil {
			return fmt.Errorf("secret %s: %w", s.Name, err)
		}
		s.Value = l.opts.Getenv(s.FromEnv)
		if s.Value == "" {
			return fmt.Errorf("secret %s: $%s is unset or empty", s.Name, s.FromEnv)
		}
		if len(s.Value) > maxSecretValue {
			return fmt.Errorf("secret %s: the value in $%s is %s bytes; Auth0 allows at most %s", s.Name, s.FromEnv, commas(int64(len(s.Value))), commas(maxSecretValue))
		}
	default:
		if err := checkFileSource(s.FromFile, l.opts.Private); err != nil {
			return fmt.Errorf("secret %s: %w", s.Name, err)
		}
		b, err := l.opts.ReadFile(s.FromFile)
		if err != nil {
			return fmt.Errorf("secret %s: read %s: %v", s.Name, s.FromFile, unwrapPath(err))
		}
		s.Value = strings.TrimRight(string(b), "\r\n")
		if s.Value == "" {
			return fmt.Errorf("secret %s: %s is empty", s.Name, s.FromFile)
		}
		if len(s.Value) > maxSecretValue {
			return fmt.Errorf("secret %s: the value in %s is %s bytes; Auth0 allows at most %s", s.Name, s.FromFile, commas(int64(len(s.Value))), commas(maxSecretValue))
		}
	}
	return nil
}

func (l *loader) checkAction(file string, a *Action) {
	if err := checkName(a.Name); err != nil {
		l.add(errf(file, a.Line("name"), "name %s: %v", quoteName(a.Name), err))
	}
	if !runtimePattern.MatchString(a.Runtime) {
		l.add(errf(file, a.Line("runtime"), "runtime %q: want a Node.js runtime such as node22", a.Runtime))
	}
}

func (l *loader) readCode(file string, a *Action) {
	p, b, ok := l.readCodeFile(file, a.Dir, a.CodePath, a.Line("code"), MaxCodeBytes, "Auth0 allows at most 102,400 bytes of code per action")
	if !ok {
		return
	}
	if e := checkCode(p, b, a); e != nil {
		l.add(e)
		return
	}
	a.CodePath, a.Code = p, string(b)
}

// readCodeFile reads the code file codePath of the action or module in
// dir, named by file at line, up to limit bytes (what says why): it must
// be inside dir; a link out of the repo or a file past the limit is an
// error of the code file itself, anything else one of file. It returns the
// file's path from the repo's root and its bytes, or false once it has
// reported why not.
func (l *loader) readCodeFile(file, dir, codePath string, line int, limit int64, what string) (string, []byte, bool) {
	p := path.Join(dir, codePath)
	if path.IsAbs(codePath) || !fs.ValidPath(p) || !strings.HasPrefix(p, dir+"/") {
		l.add(errf(file, line, "code %q: the code file must be inside %s", codePath, dir))
		return "", nil, false
	}
	b, err := readFile(l.fsys, p, limit, what)
	var link *linkOutError
	var large *tooLargeError
	switch {
	case errors.As(err, &link) || errors.As(err, &large):
		l.add(&Error{Path: p, Err: describe(p, err)})
		return "", nil, false
	case err != nil:
		l.add(errf(file, line, "code file %s: %v", p, describe(p, err)))
		return "", nil, false
	}
	return p, b, true
}

// checkCode refuses code Auth0 would not keep as it is: longer than
// MaxCodeBytes once actionsync's stamp line is appended, or not text (see
// checkText).
func checkCode(p string, b []byte, a *Action) *Error {
	if room := stampRoom(a.Secrets); len(b)+room > MaxCodeBytes {
		return errf(p, 0, "%s bytes, and %d more for actionsync's stamp line: Auth0 allows at most %s bytes of code per action",
			commas(int64(len(b))), room, commas(MaxCodeBytes))
	}
	return checkText(p, b)
}

// checkText refuses code that is not UTF-8 (the tenant would store
// U+FFFD, and every run would update it again) or holds a NUL byte. The
// error gives the line of the first bad byte.
func checkText(p string, b []byte) *Error {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			line, col := position(b, i)
			return errf(p, line, "byte 0x%02x at column %d is not UTF-8: code must be UTF-8 text", b[i], col)
		case r == 0:
			line, col := position(b, i)
			return errf(p, line, "a NUL byte at column %d: code must be text without NUL", col)
		}
		i += size
	}
	return nil
}

// stampRoom is the room the stamp line (internal/stamp) takes in the
// uploaded code of an action or a module with secrets: its fixed part with a 40-digit commit and an owner of up
// to 64 characters, and each secret's name and fingerprint.
func stampRoom(secrets []Secret) int {
	n := 160
	for _, s := range secrets {
		n += len(s.Name) + 18
	}
	return n
}

// position is the line and column (both from 1, the column in bytes) of
// offset i in b.
func position(b []byte, i int) (int, int) {
	line := 1 + bytes.Count(b[:i], []byte("\n"))
	return line, i - bytes.LastIndexByte(b[:i], '\n')
}

// checkNames reports actions that share a name.
func (l *loader) checkNames() {
	for i := 1; i < len(l.repo.Actions); i++ {
		a, prev := l.repo.Actions[i], l.repo.Actions[i-1]
		if a.Name == prev.Name {
			l.add(errf(a.File(), a.Line("name"), "duplicate action name %q (also in %s)", a.Name, prev.File()))
		}
	}
}
