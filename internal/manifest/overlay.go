package manifest

import (
	"fmt"
	"slices"
)

// selectEnvironment finds the environment Options names, once
// actionsync.yaml is read.
func (l *loader) selectEnvironment() {
	name := l.opts.Environment
	if name == "" {
		return
	}
	l.env = l.repo.Config.Environment(name)
	if l.env != nil || len(l.errs) > 0 {
		return
	}
	l.add(&Error{Path: ConfigFile, Err: fmt.Errorf("no environment %q (defined: %s)", name, orNone(l.repo.Config.EnvironmentNames()))})
}

// excluded reports whether the environment leaves the action out.
func (l *loader) excluded(action string) bool {
	return l.env != nil && slices.Contains(l.env.Exclude, action)
}

// envSecretOf is the environment's source for an action's secret, or nil.
func (l *loader) envSecretOf(action, name string) *EnvSecret {
	if l.env == nil {
		return nil
	}
	for i, s := range l.env.Secrets {
		if s.Action == action && s.Secret.Name == name {
			return &l.env.Secrets[i]
		}
	}
	return nil
}

// readSecret reads a secret's value from its source, unless the
// environment leaves its action out: then nothing is read.
func (l *loader) readSecret(action string, s *Secret) error {
	if l.excluded(action) {
		return nil
	}
	return l.secretValue(s)
}

// addEnvSecrets adds the secrets the environment gives an action, whether
// they replace one its action.yaml declares or add one.
func (l *loader) addEnvSecrets(a *Action) {
	if l.env == nil || l.excluded(a.Name) {
		return
	}
	for _, o := range l.env.Secrets {
		if o.Action != a.Name {
			continue
		}
		s := o.Secret
		if err := l.secretValue(&s); err != nil {
			l.add(errf(ConfigFile, o.Line, "environments.%s.secrets.%s: %v", l.env.Name, a.Name, err))
			continue
		}
		a.Secrets = append(a.Secrets, s)
	}
}

// applyEnvironment checks that the chosen environment names actions of the
// repo, and applies its exclusions: an excluded action is not in the
// desired state, nor in any trigger's bindings. Only the chosen one is
// checked: a stale name in prod's overlay fails prod's loads (and its
// section of a preview of every environment), never dev's.
func (l *loader) applyEnvironment() {
	if l.env == nil {
		return
	}
	l.checkReferences(l.env)
	l.repo.Actions = slices.DeleteFunc(l.repo.Actions, func(a *Action) bool {
		if l.excluded(a.Name) {
			l.repo.Excluded = append(l.repo.Excluded, a)
			return true
		}
		return false
	})
	for _, t := range l.repo.Triggers {
		t.Bindings = slices.DeleteFunc(t.Bindings, func(b Binding) bool { return l.excluded(b.Action) })
	}
}

// checkReferences reports an environment's exclusions and secrets that
// name no action of the repo, and secrets of an action it leaves out.
func (l *loader) checkReferences(e *Environment) {
	for _, name := range e.Exclude {
		if l.repo.Action(name) == nil {
			l.add(errf(ConfigFile, l.excludeLines[e.Name+"\x00"+name], "environments.%s.exclude: %s is no action of the repo", e.Name, name))
		}
	}
	for _, s := range e.Secrets {
		switch {
		case l.repo.Action(s.Action) == nil:
			l.add(errf(ConfigFile, s.Line, "environments.%s.secrets: %s is no action of the repo", e.Name, s.Action))
		case slices.Contains(e.Exclude, s.Action):
			l.add(errf(ConfigFile, s.Line, "environments.%s.secrets: %s is excluded from %s", e.Name, s.Action, e.Name))
		}
	}
}
