package node

import (
	"encoding/json"
	"maps"
)

// The api methods whose calls a flow acts on, as Call.Method spells them.
const (
	methodDeny             = "access.deny"
	methodIDTokenClaim     = "idToken.setCustomClaim"
	methodAccessTokenClaim = "accessToken.setCustomClaim"
	methodAppMetadata      = "user.setAppMetadata"
	methodUserMetadata     = "user.setUserMetadata"
)

// Flow is what Auth0 carries from one action of a trigger's flow to the
// next, for one event:
//
//   - api.access.deny stops the flow once the denying action returns: the
//     actions after it do not run.
//   - api.idToken.setCustomClaim and api.accessToken.setCustomClaim add up
//     into the tokens; a later claim of the same name wins.
//   - api.user.setAppMetadata and api.user.setUserMetadata add up too, and
//     a later action sees them in event.user.app_metadata and
//     event.user.user_metadata (Auth0 applies them to the event that
//     propagates through the flow and persists them once, at its end). A
//     null value removes the key from the event, as the Management API's
//     PATCH of metadata does.
//
// Runner applies it between the actions it runs; a runner that runs one
// action at a time elsewhere (the Management API's test endpoint) can use it
// the same way. The zero value is not usable; call NewFlow.
type Flow struct {
	event map[string]any
	// State is what the calls so far add up to.
	State State
	// DeniedBy names the action that denied, once one has.
	DeniedBy string
}

// State is what a flow's calls add up to. Values are the calls' arguments,
// as JSON would decode them.
type State struct {
	IDTokenClaims     map[string]any `json:"id_token_claims,omitempty"`
	AccessTokenClaims map[string]any `json:"access_token_claims,omitempty"`
	// AppMetadata and UserMetadata are the keys the flow set (null for a
	// key it removed), not the user's whole metadata.
	AppMetadata  map[string]any `json:"app_metadata,omitempty"`
	UserMetadata map[string]any `json:"user_metadata,omitempty"`
}

// NewFlow starts a flow for event, which it copies.
func NewFlow(event map[string]any) *Flow {
	return &Flow{event: deepCopy(event)}
}

// Event returns a copy of the event as the next action sees it: the
// original with the flow's metadata changes applied to event.user.
func (f *Flow) Event() map[string]any { return deepCopy(f.event) }

// Stopped reports whether an action denied, so no further action runs.
func (f *Flow) Stopped() bool { return f.DeniedBy != "" }

// Record applies one action's calls, in order.
func (f *Flow) Record(action string, calls []Call) {
	for _, c := range calls {
		var args []any
		if json.Unmarshal(c.Args, &args) != nil {
			continue
		}
		switch c.Method {
		case methodDeny:
			if f.DeniedBy == "" {
				f.DeniedBy = action
			}
		case methodIDTokenClaim:
			setKey(&f.State.IDTokenClaims, args)
		case methodAccessTokenClaim:
			setKey(&f.State.AccessTokenClaims, args)
		case methodAppMetadata:
			setKey(&f.State.AppMetadata, args)
			f.setUserKey("app_metadata", args)
		case methodUserMetadata:
			setKey(&f.State.UserMetadata, args)
			f.setUserKey("user_metadata", args)
		}
	}
}

// setKey stores args[1] under the name args[0], when that is a string.
func setKey(m *map[string]any, args []any) {
	name, ok := key(args)
	if !ok {
		return
	}
	if *m == nil {
		*m = map[string]any{}
	}
	(*m)[name] = value(args)
}

// setUserKey applies a metadata call to event.user[field].
func (f *Flow) setUserKey(field string, args []any) {
	name, ok := key(args)
	user, isMap := f.event["user"].(map[string]any)
	if !ok || !isMap {
		return
	}
	meta, _ := user[field].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		user[field] = meta
	}
	if v := value(args); v == nil {
		delete(meta, name)
	} else {
		meta[name] = v
	}
}

func key(args []any) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	s, ok := args[0].(string)
	return s, ok
}

func value(args []any) any {
	if len(args) < 2 {
		return nil
	}
	return args[1]
}

// deepCopy copies a JSON-shaped value; maps and slices are copied at every
// depth, so no action sees another's changes to its event.
func deepCopy(m map[string]any) map[string]any {
	out := maps.Clone(m)
	if out == nil {
		return map[string]any{}
	}
	for k, v := range out {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return deepCopy(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = copyValue(x)
		}
		return out
	}
	return v
}
