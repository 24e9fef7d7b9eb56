package localtenant

import (
	"net/http"
	"slices"
)

// Auth0's documented limits of Actions and Action Modules:
// https://auth0.com/docs/customize/actions/limitations and the Actions table of
// https://auth0.com/docs/troubleshoot/customer-support/operational-policies/entity-limit-policy.
const (
	// maxCodeBytes is "Each Action should not exceed 100 kB", read as
	// 100 × 1024 bytes of code.
	maxCodeBytes = 100 << 10
	// maxModuleCode is the maxLength of a module's code in the API's
	// OpenAPI document (CreateActionModuleRequestContent.code).
	maxModuleCode = 65536
	// maxDependencies and maxSecrets hold for actions and modules alike.
	maxDependencies = 10
	maxSecrets      = 30
	// maxSecretName and maxSecretValue bound an action secret's key and
	// value; a module secret's name may have 255 characters (the OpenAPI
	// document's ActionModuleSecretRequest).
	maxSecretName  = 128
	maxSecretValue = 4096
	// maxBindings is "Actions per Trigger per Tenant".
	maxBindings = 20
	// maxModulesPerAction is "Actions Modules per Action".
	maxModulesPerAction = 3
	// maxVersions is "Versions per Action" and "Versions per Action
	// Module": past it the oldest unused version is deleted.
	maxVersions = 50
	// DefaultMaxActions and DefaultMaxModules are the entity limits per
	// tenant that Options.MaxActions and Options.MaxModules default to.
	DefaultMaxActions = 100
	DefaultMaxModules = 100
)

// tooManyEntities is Auth0's answer to a create past an entity limit. The
// status, message and errorCode are those a real tenant sends when its
// application limit is reached (the only entity-limit answer on record);
// the entity limit policy gives Actions and Modules the same kind of limit,
// so the same answer is assumed.
func tooManyEntities() error {
	return &httpError{
		code:      http.StatusForbidden,
		message:   "You reached the limit of entities of this type for this tenant.",
		errorCode: "too_many_entities",
	}
}

func (t *Tenant) maxActions() int { return orDefault(t.opts.MaxActions, DefaultMaxActions) }

func (t *Tenant) maxModules() int { return orDefault(t.opts.MaxModules, DefaultMaxModules) }

func orDefault(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

// dropOldestUnused deletes from vs (oldest first) the oldest entry inUse
// rejects, once vs holds more than maxVersions; it reports false when every
// entry is in use.
func dropOldestUnused[V any](vs *[]V, inUse func(V) bool) bool {
	for len(*vs) > maxVersions {
		i := slices.IndexFunc(*vs, func(v V) bool { return !inUse(v) })
		if i < 0 {
			return false
		}
		*vs = slices.Delete(*vs, i, i+1)
	}
	return true
}
