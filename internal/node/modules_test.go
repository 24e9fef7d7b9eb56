package node_test

import (
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/node"
)

const loggerModule = `let calls = 0;
module.exports = {
  tag: (s) => { calls++; return actions.secrets.PREFIX + ":" + s + ":" + calls; },
  leak: () => { console.log("the key is " + actions.secrets.KEY); },
  boom: () => { throw new Error("module failure"); },
};
`

func withLogger(a node.Action) node.Action {
	a.Modules = []node.Module{{Name: "logger", Code: loggerModule, Secrets: map[string]string{"PREFIX": "pre", "KEY": "module-secret-value"}}}
	return a
}

// TestModules: an action requires its Action Modules as actions:<name>, as
// Auth0's runtime resolves them; a module's code reads its own secrets as
// actions.secrets, is loaded once per action, and its secret values are
// masked like an action's.
func TestModules(t *testing.T) {
	needNode(t)
	for _, tc := range []struct {
		name      string
		code      string
		wantCalls string
		wantLogs  string
		wantError string
	}{
		{"required, with its secrets (masked), loaded once",
			`const a = require("actions:logger"); const b = require("actions:logger");
exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim("t", a.tag("x") + "," + b.tag("y")); };`,
			`uses: idToken.setCustomClaim["t","***:x:1,***:y:2"]`, "", ""},
		{"a module's secret is masked",
			`exports.onExecutePostLogin = async () => { require("actions:logger").leak(); };`,
			"", "log: the key is ***", ""},
		{"a module's throw fails the action, its file in the stack",
			`exports.onExecutePostLogin = async () => { require("actions:logger").boom(); };`,
			"", "", "module failure"},
		{"a module the action does not pin",
			`exports.onExecutePostLogin = async () => { require("actions:nope"); };`,
			"", "", "Cannot find module 'actions:nope'"},
		{"the action's secrets are not the module's",
			`exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim("k", String(event.secrets.PREFIX)); };`,
			`uses: idToken.setCustomClaim["k","undefined"]`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, nil, nil, withLogger(login("uses", tc.code)))
			if got := calls(res); got != tc.wantCalls {
				t.Errorf("calls %q, want %q (error %+v)", got, tc.wantCalls, res.Error)
			}
			if got := logs(res); got != tc.wantLogs {
				t.Errorf("logs %q, want %q", got, tc.wantLogs)
			}
			switch {
			case tc.wantError == "" && res.Error != nil:
				t.Errorf("error %+v, want none", res.Error)
			case tc.wantError != "" && (res.Error == nil || !strings.Contains(res.Error.Message, tc.wantError)):
				t.Errorf("error %+v, want %q", res.Error, tc.wantError)
			}
			if tc.wantError == "module failure" && !strings.Contains(res.Error.Stack, "modules/logger.js:5") {
				t.Errorf("stack %q, want the module's file and line", res.Error.Stack)
			}
			if strings.Contains(logs(res)+calls(res), "module-secret-value") {
				t.Error("a module's secret value is in the result")
			}
		})
	}
}

// TestModuleDependencies: a module requires its own npm dependencies, from
// the same cache as actions', and the action cannot.
func TestModuleDependencies(t *testing.T) {
	needNode(t)
	npm, _ := countingNPM(t)
	a := login("uses", `const m = require("actions:versions");
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim("v", m.version());
  try { require("lodash"); } catch (e) { api.idToken.setCustomClaim("action", "no lodash"); }
};`)
	a.Modules = []node.Module{{Name: "versions", Code: `const _ = require("lodash"); module.exports = { version: () => _.VERSION };`, Dependencies: lodash}}
	res := run(t, &node.Runner{NPM: npm, Cache: t.TempDir()}, nil, a)
	want := "uses: idToken.setCustomClaim[\"v\",\"4.17.21\"]\nuses: idToken.setCustomClaim[\"action\",\"no lodash\"]"
	if got := calls(res); got != want {
		t.Errorf("calls %q error %+v, want %q", got, res.Error, want)
	}
}
