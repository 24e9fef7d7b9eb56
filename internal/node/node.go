// Package node runs Auth0 Action code under Node.js the way Auth0's runtime
// does.
//
// A Runner runs one trigger's actions, in order, for one event, in one node
// process: each action's handler (onExecutePostLogin for post-login) gets its
// own copy of the event, with event.secrets holding its secret values, and an
// api object that records every call. console output is captured. A deny
// stops the flow; claims and metadata accumulate, and a later action sees an
// earlier one's metadata changes in event.user (see Flow). One time limit
// bounds the whole run, after which the process group is killed.
//
// npm dependencies are installed once per distinct set, at their pinned
// versions, into a cache directory, and each action can require only its
// own. Secret values never appear in a Result: every configured value is
// replaced by Mask wherever it could surface.
package node

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// DefaultTimeout is Auth0's limit on one execution of a trigger's flow.
const DefaultTimeout = 20 * time.Second

// Mask replaces every secret value in a Result.
const Mask = "***"

// TimeoutMessage starts the error of a run stopped at its time limit, as
// Auth0 words it; a tenant's answer that starts so is a time-out too.
const TimeoutMessage = "Script execution time exceeded"

// Errors a caller can tell apart with errors.Is. Each comes wrapped with
// what was looked for or what failed.
var (
	// ErrNoNode means node is not installed (or not where Runner.Node says).
	ErrNoNode = errors.New("node is not installed")
	// ErrNoNPM means npm, needed to install an action's dependencies, is not
	// installed.
	ErrNoNPM = errors.New("npm is not installed")
	// ErrRegistry means the npm registry could not be reached.
	ErrRegistry = errors.New("the npm registry cannot be reached")
	// ErrInstall means npm reached the registry but could not install a
	// dependency set (a package or version that does not exist, say).
	ErrInstall = errors.New("npm could not install the dependencies")
)

// Action is one action's code and what it runs with.
type Action struct {
	// Name is the action's name; results attribute calls and logs to it.
	Name string
	// Trigger is the trigger id, such as post-login; it names the handler.
	Trigger string
	// File is the name the code runs as, shown in stack traces (such as
	// actions/deny-blocked-ips/index.js); "" means action.js.
	File string
	// Code is the action's source.
	Code         string
	Dependencies []Dependency
	// Secrets are event.secrets: name to value. Every value is masked in
	// the Result.
	Secrets map[string]string
	// Modules are the Action Modules the action pins; its code, and theirs,
	// require one as actions:<name>.
	Modules []Module
}

// Module is an Auth0 Action Module: shared code an action requires as
// require('actions:<Name>'), as Auth0's runtime resolves it
// (https://auth0.com/docs/customize/actions/modules/write-your-first-action-module).
// Its code reads its own secrets as actions.secrets.<NAME>, and requires
// its own npm dependencies.
type Module struct {
	Name         string
	File         string // shown in stack traces; "" means modules/<Name>.js
	Code         string
	Dependencies []Dependency
	// Secrets are actions.secrets in the module's scope; masked like an
	// action's.
	Secrets map[string]string
}

// Dependency is an npm package at an exact version.
type Dependency struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Handler is the export Auth0 calls for a trigger: post-login →
// onExecutePostLogin.
func Handler(trigger string) string {
	var b strings.Builder
	b.WriteString("onExecute")
	for _, part := range strings.Split(trigger, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// Result is what one run did. A throw, a time-out or a deny is a Result, not
// an error: Run's error means the code could not run at all.
type Result struct {
	// Actions are the actions that started, in order.
	Actions []ActionRun
	// Calls are the api calls of the whole flow, in order.
	Calls []Call
	// Logs are the console output of the whole flow, in order.
	Logs []Log
	// State is what the flow's calls add up to.
	State State
	// Error is the throw (or the time-out) that stopped the flow; nil when
	// every action returned.
	Error *Error
	// TimedOut is set when the time limit stopped the flow.
	TimedOut bool
	// DeniedBy names the action whose api.access.deny stopped the flow.
	DeniedBy string
	// Duration is the run's wall time, node's start-up included.
	Duration time.Duration
}

// ActionRun is one action's part of a run.
type ActionRun struct {
	Name     string
	Duration time.Duration
	// Error is set when the action threw or ran out of time.
	Error *Error
	// Execution is the id of the tenant's execution of the action, when a
	// tenant ran it (the Management API's test endpoint) and said which.
	Execution string
}

// Call is one call on the api object.
type Call struct {
	// Action made the call.
	Action string `json:"action,omitempty"`
	// Method is the path from api: "access.deny" for api.access.deny.
	Method string `json:"method"`
	// Args is the JSON array of the arguments; undefined is null.
	Args json.RawMessage `json:"args"`
}

// Log is one line of console output.
type Log struct {
	Action string `json:"action,omitempty"`
	// Level is the console method: log, info, warn, error, debug or trace.
	Level string `json:"level"`
	Text  string `json:"text"`
}

// Error is what the code threw, or the time-out.
type Error struct {
	Action  string `json:"action,omitempty"`
	Name    string `json:"name"`
	Message string `json:"message"`
	// Stack is the stack trace, with the frames of the runner itself and of
	// node's internals left out.
	Stack string `json:"stack,omitempty"`
}

// Error formats the throw as Node prints it: name: message.
func (e *Error) Error() string { return e.Name + ": " + e.Message }
