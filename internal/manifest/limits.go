package manifest

// Auth0's documented limits of an action
// (https://auth0.com/docs/customize/actions/limitations), checked by the
// loader so that a repo past one is refused with its file and line before
// anything is written, rather than half applied. internal/localtenant
// enforces the same. (MaxCodeBytes is with the read bounds.)
const (
	// maxDependencies is "Each Action may have a maximum of 10 npm modules".
	maxDependencies = 10
	// maxSecrets is "Each Action may have a maximum of 30 secrets".
	maxSecrets = 30
	// maxSecretName and maxSecretValue: "Each secret key may have a maximum
	// length of 128 characters, and each secret value ... of 4096", counted
	// in bytes as the local tenant does.
	maxSecretName  = 128
	maxSecretValue = 4096
)

// partLimits are Auth0's limits on the npm dependencies and secrets of an
// action or a module, and the word ("action", "module") the loader's
// messages name it by.
type partLimits struct {
	of                        string
	deps, secrets, secretName int
}

var (
	actionLimits = partLimits{"action", maxDependencies, maxSecrets, maxSecretName}
	moduleLimits = partLimits{"module", maxModuleDeps, maxModuleSecrets, maxModuleSecretName}
)

// MaxBindings is "Each flow may have a maximum of 20 active bound Actions":
// the loader checks triggers.yaml against it, and the planner the list it
// would write, which keeps the bindings the repo does not manage.
const MaxBindings = 20
