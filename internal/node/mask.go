package node

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// MaskResult replaces every secret value of actions and their modules with
// Mask wherever res could show it, as Run does with its own results. A
// runner that gets its results elsewhere (a tenant's test endpoint) masks
// them with it.
func MaskResult(res *Result, actions []Action) { newMasker(actions).result(res) }

// masker replaces secret values with Mask.
type masker struct {
	values []string
	r      *strings.Replacer
}

// newMasker masks every non-empty secret value of actions and their
// modules, as it is and as
// JSON and JavaScript's inspection escape it inside a string, the longest
// first, so a value inside another does not leave part of it showing.
func newMasker(actions []Action) *masker {
	m := &masker{}
	add := func(secrets map[string]string) {
		for _, v := range secrets {
			if v == "" {
				continue
			}
			for _, form := range []string{v, jsonEscaped(v), jsEscaped(v)} {
				if !slices.Contains(m.values, form) {
					m.values = append(m.values, form)
				}
			}
		}
	}
	for _, a := range actions {
		add(a.Secrets)
		for _, mod := range a.Modules {
			add(mod.Secrets)
		}
	}
	slices.SortFunc(m.values, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	pairs := make([]string, 0, 2*len(m.values))
	for _, v := range m.values {
		pairs = append(pairs, v, Mask)
	}
	m.r = strings.NewReplacer(pairs...)
	return m
}

// jsonEscaped is v as it appears inside a JSON string.
func jsonEscaped(v string) string {
	b, _ := encodeJSON(v)
	return strings.TrimSuffix(strings.TrimPrefix(string(b), `"`), `"`)
}

// jsEscaped is v as node's util.inspect shows it inside a quoted string.
func jsEscaped(v string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(v)
}

func (m *masker) str(s string) string {
	if len(m.values) == 0 {
		return s
	}
	return m.r.Replace(s)
}

func (m *masker) err(e *Error) {
	if e != nil {
		e.Name, e.Message, e.Stack = m.str(e.Name), m.str(e.Message), m.str(e.Stack)
	}
}

// result masks everything in res that the code could have put a value in.
func (m *masker) result(res *Result) {
	if len(m.values) == 0 {
		return
	}
	for i := range res.Calls {
		// the method too: api.access[event.secrets.KEY]() is a call
		res.Calls[i].Method = m.str(res.Calls[i].Method)
		res.Calls[i].Args = m.json(res.Calls[i].Args)
	}
	for i := range res.Logs {
		res.Logs[i].Text = m.str(res.Logs[i].Text)
	}
	for i := range res.Actions {
		m.err(res.Actions[i].Error)
	}
	if res.Error != nil && (len(res.Actions) == 0 || res.Error != res.Actions[len(res.Actions)-1].Error) {
		m.err(res.Error)
	}
	st := &res.State
	for _, p := range []*map[string]any{&st.IDTokenClaims, &st.AccessTokenClaims, &st.AppMetadata, &st.UserMetadata} {
		if *p != nil {
			*p = m.value(*p).(map[string]any)
		}
	}
}

// json masks the strings (keys too) and numbers of a JSON document, decoded
// so that a value JSON escapes is found as well. A document without a
// secret keeps its bytes.
func (m *masker) json(raw json.RawMessage) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return json.RawMessage(m.str(string(raw)))
	}
	out, err := encodeJSON(m.value(v))
	if err != nil {
		return raw
	}
	if before, _ := encodeJSON(v); bytes.Equal(before, out) {
		return raw // nothing masked
	}
	return out
}

// encodeJSON is v as JSON, without escaping HTML.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func (m *masker) value(v any) any {
	switch v := v.(type) {
	case string:
		return m.str(v)
	case json.Number:
		if s := m.str(string(v)); s != string(v) {
			return s
		}
		return v
	case float64:
		if s := strconv.FormatFloat(v, 'f', -1, 64); m.str(s) != s {
			return Mask
		}
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[m.str(k)] = m.value(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = m.value(x)
		}
		return out
	}
	return v
}
