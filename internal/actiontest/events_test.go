package actiontest_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/actionsync/actionsync/internal/actiontest"
)

func TestDefaultEvents(t *testing.T) {
	want := map[string][]string{
		"post-login":             {"authentication", "authorization", "client", "connection", "request", "stats", "tenant", "transaction", "user"},
		"credentials-exchange":   {"accessToken", "client", "request", "resource_server", "tenant", "transaction"},
		"pre-user-registration":  {"client", "connection", "request", "tenant", "transaction", "user"},
		"post-user-registration": {"connection", "request", "tenant", "transaction", "user"},
		"post-change-password":   {"connection", "request", "tenant", "user"},
		"send-phone-message":     {"client", "message_options", "request", "tenant", "user"},
	}
	var triggers []string
	for trigger := range want {
		triggers = append(triggers, trigger)
	}
	slices.Sort(triggers)
	if got := actiontest.DefaultEventTriggers(); !slices.Equal(got, triggers) {
		t.Errorf("triggers with a default event: %v, want %v", got, triggers)
	}
	for trigger, keys := range want {
		t.Run(trigger, func(t *testing.T) {
			event, ok := actiontest.DefaultEvent(trigger)
			if !ok {
				t.Fatal("no default event")
			}
			var got []string
			for k := range event {
				got = append(got, k)
			}
			slices.Sort(got)
			if !slices.Equal(got, keys) {
				t.Errorf("keys %v, want %v", got, keys)
			}
			if _, secrets := event["secrets"]; secrets {
				t.Error("the default event carries secrets; the runner sets them")
			}
		})
	}
	event, ok := actiontest.DefaultEvent("custom-email-provider")
	if ok || len(event) != 0 {
		t.Errorf("a trigger without a default: %v %v, want an empty event", event, ok)
	}
	first, _ := actiontest.DefaultEvent("post-login")
	first["user"].(map[string]any)["email"] = "changed"
	if again, _ := actiontest.DefaultEvent("post-login"); again["user"].(map[string]any)["email"] == "changed" {
		t.Error("DefaultEvent hands out a shared event")
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name, base, over, want string
	}{
		{"objects merge at every depth", `{"a":{"b":1,"c":{"d":2,"e":3}}}`, `{"a":{"c":{"e":4}}}`, `{"a":{"b":1,"c":{"d":2,"e":4}}}`},
		{"lists replace", `{"roles":["a","b"]}`, `{"roles":["c"]}`, `{"roles":["c"]}`},
		{"scalars replace objects", `{"user":{"id":1}}`, `{"user":"x"}`, `{"user":"x"}`},
		{"null replaces", `{"user":{"id":1}}`, `{"user":null}`, `{"user":null}`},
		{"objects replace scalars", `{"a":1}`, `{"a":{"b":2}}`, `{"a":{"b":2}}`},
		{"new keys are added", `{}`, `{"a":[{"b":1}]}`, `{"a":[{"b":1}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var base, over map[string]any
			json.Unmarshal([]byte(tc.base), &base)
			json.Unmarshal([]byte(tc.over), &over)
			got, _ := json.Marshal(actiontest.Merge(base, over))
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			if again, _ := json.Marshal(base); string(again) != tc.base {
				t.Errorf("Merge changed its base: %s", again)
			}
		})
	}
}
