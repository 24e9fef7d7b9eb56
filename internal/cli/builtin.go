package cli

import (
	"errors"
	"fmt"

	"github.com/actionsync/actionsync/internal/manifest"
)

// builtin reports whether the run uses the built-in local tenant.
func (e auth0Env) builtin() bool { return e.domain == "" || e.domain == manifest.LocalDomain }

// builtinWhy says why the built-in tenant serves, for its warning.
func (e auth0Env) builtinWhy() string {
	if e.env != "" {
		return "environment " + e.env + "'s domain is local"
	}
	if e.domain == manifest.LocalDomain {
		return "AUTH0_DOMAIN=local"
	}
	return "AUTH0_DOMAIN is not set"
}

// errNoDomain refuses the built-in tenant where it would mislead.
var errNoDomain = errors.New("AUTH0_DOMAIN is not set: set it to the tenant to sync, or to \"local\" for the built-in local tenant")

// checkBuiltin refuses the built-in tenant, unless chosen with
// AUTH0_DOMAIN=local, where it would mislead: without AUTH0_DOMAIN it
// serves only a person trying things, not a CI job ($CI is set), nor a
// daemon following a Git URL, which would go green having deployed nothing
// real.
func (e auth0Env) checkBuiltin(followsURL bool) error {
	if e.domain != "" {
		return nil
	}
	switch {
	case e.ci != "" && e.ci != "false" && e.ci != "0":
		return fmt.Errorf("%w (CI is set: the built-in tenant serves only a person trying things)", errNoDomain)
	case followsURL:
		return fmt.Errorf("%w (the daemon follows a Git URL: the built-in tenant serves only a person trying things)", errNoDomain)
	}
	return nil
}
