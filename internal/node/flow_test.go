package node_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/node"
)

// Actions for the flow tests.
var (
	denier = login("denier", `exports.onExecutePostLogin = async (event, api) => {
  api.access.deny("no entry");
  api.idToken.setCustomClaim("https://x/after-deny", true);
};`)
	marker = login("marker", `exports.onExecutePostLogin = async (event, api) => {
  api.user.setAppMetadata("seen", true);
  api.user.setUserMetadata("theme", "dark");
  api.idToken.setCustomClaim("https://x/who", "marker");
  event.user.email = "changed@example.com";
};`)
	reader = login("reader", `exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim("https://x/seen", event.user.app_metadata.seen === true);
  api.idToken.setCustomClaim("https://x/theme", event.user.user_metadata.theme || null);
  api.idToken.setCustomClaim("https://x/who", "reader");
  api.accessToken.setCustomClaim("https://x/email", event.user.email);
};`)
	thrower = login("thrower", `exports.onExecutePostLogin = async () => { throw new Error("stop here"); };`)
	remover = login("remover", `exports.onExecutePostLogin = async (event, api) => { api.user.setAppMetadata("seen", null); };`)
)

func loginEvent() map[string]any {
	return map[string]any{"user": map[string]any{"email": "jo@example.com", "app_metadata": map[string]any{}, "user_metadata": map[string]any{}}}
}

func TestFlow(t *testing.T) {
	needNode(t)
	tests := []struct {
		name      string
		actions   []node.Action
		wantCalls string
		wantRan   string // the actions that started, in order
		wantDeny  string
		wantState string // State as JSON
	}{{
		name:      "a deny stops the flow once its action returns",
		actions:   []node.Action{marker, denier, reader},
		wantCalls: "marker: user.setAppMetadata[\"seen\",true]\nmarker: user.setUserMetadata[\"theme\",\"dark\"]\nmarker: idToken.setCustomClaim[\"https://x/who\",\"marker\"]\ndenier: access.deny[\"no entry\"]\ndenier: idToken.setCustomClaim[\"https://x/after-deny\",true]",
		wantRan:   "marker denier",
		wantDeny:  "denier",
		wantState: `{"id_token_claims":{"https://x/after-deny":true,"https://x/who":"marker"},"app_metadata":{"seen":true},"user_metadata":{"theme":"dark"}}`,
	}, {
		name:      "a later action sees metadata, claims accumulate, the last claim wins",
		actions:   []node.Action{marker, reader},
		wantCalls: "marker: user.setAppMetadata[\"seen\",true]\nmarker: user.setUserMetadata[\"theme\",\"dark\"]\nmarker: idToken.setCustomClaim[\"https://x/who\",\"marker\"]\nreader: idToken.setCustomClaim[\"https://x/seen\",true]\nreader: idToken.setCustomClaim[\"https://x/theme\",\"dark\"]\nreader: idToken.setCustomClaim[\"https://x/who\",\"reader\"]\nreader: accessToken.setCustomClaim[\"https://x/email\",\"jo@example.com\"]",
		wantRan:   "marker reader",
		wantState: `{"id_token_claims":{"https://x/seen":true,"https://x/theme":"dark","https://x/who":"reader"},"access_token_claims":{"https://x/email":"jo@example.com"},"app_metadata":{"seen":true},"user_metadata":{"theme":"dark"}}`,
	}, {
		name:      "reordered, the reader runs before the metadata is set",
		actions:   []node.Action{reader, marker},
		wantCalls: "reader: idToken.setCustomClaim[\"https://x/seen\",false]\nreader: idToken.setCustomClaim[\"https://x/theme\",null]\nreader: idToken.setCustomClaim[\"https://x/who\",\"reader\"]\nreader: accessToken.setCustomClaim[\"https://x/email\",\"jo@example.com\"]\nmarker: user.setAppMetadata[\"seen\",true]\nmarker: user.setUserMetadata[\"theme\",\"dark\"]\nmarker: idToken.setCustomClaim[\"https://x/who\",\"marker\"]",
		wantRan:   "reader marker",
		wantState: `{"id_token_claims":{"https://x/seen":false,"https://x/theme":null,"https://x/who":"marker"},"access_token_claims":{"https://x/email":"jo@example.com"},"app_metadata":{"seen":true},"user_metadata":{"theme":"dark"}}`,
	}, {
		name:      "a null value removes metadata for later actions",
		actions:   []node.Action{marker, remover, reader},
		wantCalls: "marker: user.setAppMetadata[\"seen\",true]\nmarker: user.setUserMetadata[\"theme\",\"dark\"]\nmarker: idToken.setCustomClaim[\"https://x/who\",\"marker\"]\nremover: user.setAppMetadata[\"seen\",null]\nreader: idToken.setCustomClaim[\"https://x/seen\",false]\nreader: idToken.setCustomClaim[\"https://x/theme\",\"dark\"]\nreader: idToken.setCustomClaim[\"https://x/who\",\"reader\"]\nreader: accessToken.setCustomClaim[\"https://x/email\",\"jo@example.com\"]",
		wantRan:   "marker remover reader",
		wantState: `{"id_token_claims":{"https://x/seen":false,"https://x/theme":"dark","https://x/who":"reader"},"access_token_claims":{"https://x/email":"jo@example.com"},"app_metadata":{"seen":null},"user_metadata":{"theme":"dark"}}`,
	}, {
		name:      "a throw stops the flow",
		actions:   []node.Action{thrower, marker},
		wantRan:   "thrower",
		wantState: `{}`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, nil, loginEvent(), tc.actions...)
			if got := calls(res); got != tc.wantCalls {
				t.Errorf("calls:\n%s\nwant:\n%s", got, tc.wantCalls)
			}
			var ran []string
			for _, a := range res.Actions {
				ran = append(ran, a.Name)
			}
			if got := strings.Join(ran, " "); got != tc.wantRan {
				t.Errorf("ran %q, want %q", got, tc.wantRan)
			}
			if res.DeniedBy != tc.wantDeny {
				t.Errorf("denied by %q, want %q", res.DeniedBy, tc.wantDeny)
			}
			if got, _ := json.Marshal(res.State); string(got) != tc.wantState {
				t.Errorf("state %s, want %s", got, tc.wantState)
			}
		})
	}
}

func TestFlowSecretsPerAction(t *testing.T) {
	needNode(t)
	show := `exports.onExecutePostLogin = async (event) => { console.log(Object.keys(event.secrets).join(",")); };`
	a, b := login("a", show), login("b", show)
	a.Secrets = map[string]string{"A_ONLY": "value-of-a"}
	b.Secrets = map[string]string{"B_ONLY": "value-of-b"}
	res := run(t, nil, nil, a, b)
	if got := logs(res); got != "log: A_ONLY\nlog: B_ONLY" {
		t.Errorf("each action's secret names:\n%s", got)
	}
}

// TestFlowRecord drives Flow as a runner elsewhere would, without node.
func TestFlowRecord(t *testing.T) {
	event := loginEvent()
	f := node.NewFlow(event)
	f.Record("a", []node.Call{
		{Method: "user.setAppMetadata", Args: json.RawMessage(`["plan","pro"]`)},
		{Method: "user.setAppMetadata", Args: json.RawMessage(`[42,"not a name"]`)},
		{Method: "idToken.setCustomClaim", Args: json.RawMessage(`["c"]`)},
	})
	next := f.Event()
	meta := next["user"].(map[string]any)["app_metadata"].(map[string]any)
	if fmt.Sprint(meta) != "map[plan:pro]" || f.Stopped() {
		t.Errorf("after a: app_metadata %v, stopped %v", meta, f.Stopped())
	}
	if len(event["user"].(map[string]any)["app_metadata"].(map[string]any)) != 0 {
		t.Error("the flow changed the caller's event")
	}
	meta["plan"] = "changed by b"
	f.Record("b", []node.Call{{Method: "access.deny", Args: json.RawMessage(`["x"]`)}})
	f.Record("c", []node.Call{{Method: "access.deny", Args: json.RawMessage(`["y"]`)}})
	if !f.Stopped() || f.DeniedBy != "b" || f.Event()["user"].(map[string]any)["app_metadata"].(map[string]any)["plan"] != "pro" {
		t.Errorf("after b: denied by %q; the next event must not see b's own change to its copy", f.DeniedBy)
	}
	if f.State.IDTokenClaims["c"] != nil || len(f.State.IDTokenClaims) != 1 {
		t.Errorf("a claim without a value: %v, want c: null", f.State.IDTokenClaims)
	}
}
