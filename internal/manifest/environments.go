package manifest

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// AllEnvironments is the --env value that names every environment; no
// environment may be called so.
const AllEnvironments = "all"

// LocalDomain is the domain of the built-in local tenant.
const LocalDomain = "local"

// Environment is one tenant the repo is synced into (actionsync.yaml's
// environments), with what differs there from the repo as committed.
type Environment struct {
	Name string
	// Tenant says how to reach the environment's tenant.
	Tenant Tenant
	// Ref is the branch the environment follows.
	Ref string
	// Exclude names the repo's actions left out of this environment.
	Exclude []string
	// Secrets replace (or add) actions' secret sources in this environment,
	// sorted by action, then secret name. Their Value is never read here.
	Secrets []EnvSecret
	// Line is the line of the environment's name in actionsync.yaml.
	Line int
}

// Tenant names an environment's tenant and the environment variables that
// hold its credentials, never the credentials themselves.
type Tenant struct {
	// Domain is the tenant's domain ("local" for the built-in tenant, or a
	// URL such as http://127.0.0.1:4000); DomainEnv names the variable that
	// holds it instead. Exactly one is set.
	Domain, DomainEnv string
	// ClientIDEnv and ClientSecretEnv name the variables of client
	// credentials; TokenEnv that of an access token instead.
	ClientIDEnv, ClientSecretEnv, TokenEnv string
}

// EnvSecret is an environment's source for one secret of one action.
type EnvSecret struct {
	Action string
	Secret Secret
	Line   int
}

// Environment returns the environment called name, or nil.
func (c *Config) Environment(name string) *Environment {
	for _, e := range c.Environments {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// EnvironmentNames lists the environments in the file's order.
func (c *Config) EnvironmentNames() []string {
	out := make([]string, len(c.Environments))
	for i, e := range c.Environments {
		out[i] = e.Name
	}
	return out
}

var (
	envNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	envVarPattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	branchPattern  = regexp.MustCompile(`^[A-Za-z0-9._][A-Za-z0-9._/-]*$`)
)

// ValidDomain checks a tenant's domain as AUTH0_DOMAIN or an environment's
// domain may hold it: "local", a host name, or an http(s) URL, plain HTTP
// only for loopback addresses.
func ValidDomain(domain string) error {
	if domain == LocalDomain {
		return nil
	}
	full := domain
	if !strings.Contains(full, "://") {
		full = "https://" + full
	}
	u, err := url.Parse(full)
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("domain %q: want a host name, or a URL", domain)
	}
	if u.Scheme == "http" && !LoopbackHost(u.Hostname()) {
		return fmt.Errorf("domain %q: plain HTTP is accepted for loopback addresses only", domain)
	}
	return nil
}

// LoopbackHost reports whether h names this machine: plain HTTP is
// accepted for it alone.
func LoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// environments reads actionsync.yaml's environments: name → settings.
func (l *loader) environments(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		l.add(errf(ConfigFile, n.Line, "environments: want a mapping of environment name to its settings, got %s", kindName(n)))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !envNamePattern.MatchString(k.Value) || k.Value == AllEnvironments:
			l.add(errf(ConfigFile, k.Line, "environment %q: want 1 to 32 lowercase letters, digits, '-' and '_' (and not %q)", k.Value, AllEnvironments))
		case l.repo.Config.Environment(k.Value) != nil:
			// defined twice: ParseYAML said so
		default:
			l.repo.Config.Environments = append(l.repo.Config.Environments, l.environment(k, v))
		}
	}
}

func (l *loader) environment(k, n *yaml.Node) *Environment {
	e := &Environment{Name: k.Value, Line: k.Line}
	where := "environments." + e.Name
	t := &e.Tenant
	l.fields(ConfigFile, where, n, map[string]func(*yaml.Node){
		"domain":            l.str(ConfigFile, where+".domain", &t.Domain, false),
		"domain_env":        l.envVar(where+".domain_env", &t.DomainEnv),
		"client_id_env":     l.envVar(where+".client_id_env", &t.ClientIDEnv),
		"client_secret_env": l.envVar(where+".client_secret_env", &t.ClientSecretEnv),
		"token_env":         l.envVar(where+".token_env", &t.TokenEnv),
		"ref":               l.str(ConfigFile, where+".ref", &e.Ref, false),
		"exclude":           func(v *yaml.Node) { l.exclude(where, e, v) },
		"secrets":           func(v *yaml.Node) { l.envSecrets(where, e, v) },
	})
	if n.Kind == yaml.MappingNode {
		l.checkEnvironment(where, e, e.Line)
	}
	return e
}

// envVar stores the name of an environment variable.
func (l *loader) envVar(where string, dst *string) func(*yaml.Node) {
	return func(n *yaml.Node) {
		var s string
		before := len(l.errs)
		l.str(ConfigFile, where, &s, false)(n)
		switch {
		case len(l.errs) > before:
		case !envVarPattern.MatchString(s):
			l.add(errf(ConfigFile, n.Line, "%s: %q is not an environment variable's name", where, s))
		default:
			*dst = s
		}
	}
}

// checkEnvironment checks what the keys say together.
func (l *loader) checkEnvironment(where string, e *Environment, line int) {
	t := e.Tenant
	switch {
	case (t.Domain == "") == (t.DomainEnv == ""):
		l.add(errf(ConfigFile, line, "%s: want exactly one of domain and domain_env", where))
	case t.Domain != "":
		if err := ValidDomain(t.Domain); err != nil {
			l.add(errf(ConfigFile, line, "%s: %v", where, err))
		}
	}
	switch {
	case (t.ClientIDEnv == "") != (t.ClientSecretEnv == ""):
		l.add(errf(ConfigFile, line, "%s: client_id_env and client_secret_env go together", where))
	case t.TokenEnv != "" && t.ClientIDEnv != "":
		l.add(errf(ConfigFile, line, "%s: want client_id_env and client_secret_env, or token_env, not both", where))
	case t.TokenEnv == "" && t.ClientIDEnv == "" && t.Domain != "" && t.Domain != LocalDomain:
		l.add(errf(ConfigFile, line, "%s: the tenant %s needs credentials: client_id_env and client_secret_env, or token_env", where, t.Domain))
	}
	switch {
	case e.Ref == "":
		l.add(errf(ConfigFile, line, "%s: missing required key \"ref\" (the branch the environment follows)", where))
	case strings.HasPrefix(e.Ref, "refs/") || !branchPattern.MatchString(e.Ref) || strings.Contains(e.Ref, ".."):
		l.add(errf(ConfigFile, line, "%s: ref %q: want a branch name, such as main or release", where, e.Ref))
	}
}

func (l *loader) exclude(where string, e *Environment, n *yaml.Node) {
	l.list(ConfigFile, where+".exclude", n, func(i int, item *yaml.Node) {
		var name string
		before := len(l.errs)
		l.str(ConfigFile, fmt.Sprintf("%s.exclude[%d]", where, i), &name, false)(item)
		switch {
		case len(l.errs) > before:
		case slices.Contains(e.Exclude, name):
			l.add(errf(ConfigFile, item.Line, "%s.exclude: %s is listed twice", where, name))
		default:
			e.Exclude = append(e.Exclude, name)
			l.excludeLines[e.Name+"\x00"+name] = item.Line
		}
	})
}

// envSecrets reads action → secret name → {from_env | from_file | value}.
func (l *loader) envSecrets(where string, e *Environment, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		l.add(errf(ConfigFile, n.Line, "%s.secrets: want a mapping of action name to its secrets, got %s", where, kindName(n)))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		action, secrets := n.Content[i], n.Content[i+1]
		at := where + ".secrets." + action.Value
		if secrets.Kind != yaml.MappingNode {
			l.add(errf(ConfigFile, secrets.Line, "%s: want a mapping of secret name to its source, got %s", at, kindName(secrets)))
			continue
		}
		for j := 0; j+1 < len(secrets.Content); j += 2 {
			if s, ok := l.envSecret(at, action.Value, secrets.Content[j], secrets.Content[j+1], e); ok {
				e.Secrets = append(e.Secrets, s)
			}
		}
	}
	sort.SliceStable(e.Secrets, func(i, j int) bool {
		a, b := e.Secrets[i], e.Secrets[j]
		return a.Action < b.Action || a.Action == b.Action && a.Secret.Name < b.Secret.Name
	})
}

func (l *loader) envSecret(at, action string, k, v *yaml.Node, e *Environment) (EnvSecret, bool) {
	s := EnvSecret{Action: action, Secret: Secret{Name: k.Value}, Line: k.Line}
	where := at + "." + k.Value
	var literal *yaml.Node
	before := len(l.errs)
	l.fields(ConfigFile, where, v, map[string]func(*yaml.Node){
		"from_env":  l.str(ConfigFile, where+".from_env", &s.Secret.FromEnv, false),
		"from_file": l.str(ConfigFile, where+".from_file", &s.Secret.FromFile, false),
		"value":     func(n *yaml.Node) { literal = n },
	})
	if literal != nil {
		s.Secret.Literal = true
		l.str(ConfigFile, where+".value", &s.Secret.Value, true)(literal)
	}
	if len(l.errs) > before || v.Kind != yaml.MappingNode {
		return s, false
	}
	sources := 0
	for _, set := range []bool{s.Secret.FromEnv != "", s.Secret.FromFile != "", s.Secret.Literal} {
		if set {
			sources++
		}
	}
	switch {
	case !secretName.MatchString(s.Secret.Name):
		l.add(errf(ConfigFile, k.Line, "%s: secret name %q: want letters, digits and _", at, s.Secret.Name))
	case sources != 1:
		l.add(errf(ConfigFile, k.Line, "%s: want exactly one of from_env, from_file and value", where))
	case slices.ContainsFunc(e.Secrets, func(o EnvSecret) bool { return o.Action == action && o.Secret.Name == s.Secret.Name }):
		// listed twice: ParseYAML said so
	default:
		return s, true
	}
	return s, false
}
