package localtenant

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
)

// kind is the JSON type a schema node accepts.
type kind int

const (
	kString kind = iota
	kBool
	kInteger
	kObject
	kArray
	kAny // any JSON object (payloads passed through untouched)
)

func (k kind) String() string {
	return [...]string{"string", "boolean", "integer", "object", "array", "object"}[k]
}

// schema is the small subset of JSON Schema the Actions API validates bodies
// with: types, required properties, no additional properties, string lengths.
type schema struct {
	kind     kind
	props    map[string]*schema
	required []string
	items    *schema
	minLen   int
	maxLen   int // 0: no maximum
	maxItems int // 0: no maximum
	nullable bool
	enum     []string
}

func str() *schema                   { return &schema{kind: kString} }
func nonEmpty() *schema              { return &schema{kind: kString, minLen: 1} }
func boolean() *schema               { return &schema{kind: kBool} }
func integer() *schema               { return &schema{kind: kInteger} }
func arrayOf(s *schema) *schema      { return &schema{kind: kArray, items: s} }
func anyObject() *schema             { return &schema{kind: kAny} }
func oneOf(values ...string) *schema { return &schema{kind: kString, enum: values} }
func strLen(lo, hi int) *schema      { return &schema{kind: kString, minLen: lo, maxLen: hi} }
func object(req ...string) *schema {
	return &schema{kind: kObject, props: map[string]*schema{}, required: req}
}
func (s *schema) with(name string, p *schema) *schema { s.props[name] = p; return s }

// atMost caps the length of an array schema.
func (s *schema) atMost(n int) *schema { s.maxItems = n; return s }

// validationError is a payload that breaks the schema; its text follows the
// wording of Auth0's "Payload validation error" messages.
type validationError struct{ msg string }

func (e *validationError) Error() string { return e.msg }

func invalidf(format string, args ...any) error {
	return &validationError{msg: "Payload validation error: " + fmt.Sprintf(format, args...)}
}

// decodeBody parses body as one JSON value and validates it against s. An
// empty body or a literal null stands for an empty object when allowEmpty.
func decodeBody(body []byte, s *schema, allowEmpty bool) (map[string]any, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		if allowEmpty {
			return map[string]any{}, nil
		}
		return nil, &validationError{msg: "Payload validation error: 'Expected type object but found type null'."}
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &validationError{msg: "Invalid request payload JSON format"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &validationError{msg: "Invalid request payload JSON format"}
	}
	if err := s.validate(v, ""); err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	return m, nil
}

// readJSON reads r's body, validates it against s (an empty body or null
// stands for an empty object when allowEmpty) and decodes the validated
// value into dst.
func readJSON(r *http.Request, s *schema, allowEmpty bool, dst any) error {
	raw, err := readBody(r)
	if err != nil {
		return err
	}
	m, err := decodeBody(raw, s, allowEmpty)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(m) // re-encode the validated value into the typed body
	if err := json.Unmarshal(b, dst); err != nil {
		return badRequest("Payload validation error: %v", err)
	}
	return nil
}

func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			return "number"
		}
		return "integer"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func onProperty(path string) string {
	if path == "" {
		return ""
	}
	return " on property " + path
}

func (s *schema) validate(v any, path string) error {
	if v == nil && s.nullable {
		return nil
	}
	got := typeName(v)
	want := s.kind.String()
	if got != want && !(s.kind == kAny && got == "object") {
		return invalidf("'Expected type %s but found type %s'%s.", want, got, onProperty(path))
	}
	switch s.kind {
	case kString:
		return s.validateString(v.(string), path)
	case kArray:
		items := v.([]any)
		if s.maxItems > 0 && len(items) > s.maxItems {
			return invalidf("'Array is too long (%d), maximum %d'%s.", len(items), s.maxItems, onProperty(path))
		}
		for i, item := range items {
			if err := s.items.validate(item, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case kObject:
		return s.validateObject(v.(map[string]any), path)
	}
	return nil
}

func (s *schema) validateString(v, path string) error {
	if len(v) < s.minLen {
		return invalidf("'String is too short (%d chars), minimum %d'%s.", len(v), s.minLen, onProperty(path))
	}
	if s.maxLen > 0 && len(v) > s.maxLen {
		return invalidf("'String is too long (%d chars), maximum %d'%s.", len(v), s.maxLen, onProperty(path))
	}
	if len(s.enum) > 0 {
		for _, e := range s.enum {
			if v == e {
				return nil
			}
		}
		return invalidf("'No enum match for: \"%s\"'%s.", v, onProperty(path))
	}
	return nil
}

func (s *schema) validateObject(m map[string]any, path string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := s.props[k]; !ok {
			return invalidf("'Additional properties not allowed: %s'%s.", k, onProperty(path))
		}
	}
	for _, r := range s.required {
		if _, ok := m[r]; !ok {
			return invalidf("'Missing required property: %s'%s.", r, onProperty(path))
		}
	}
	for _, k := range keys {
		if err := s.props[k].validate(m[k], join(path, k)); err != nil {
			return err
		}
	}
	return nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// The request bodies of the Actions API. The documented limits of Actions
// (limits.go) that concern one body are checked here, as schema bounds, so
// they are answered as the schema errors they resemble.
var (
	triggerRefSchema = object("id").with("id", nonEmpty()).with("version", str()).with("status", str())
	dependencySchema = object("name").with("name", nonEmpty()).with("version", str()).with("registry_url", str())
	secretSchema     = object("name").with("name", strLen(1, maxSecretName)).with("value", strLen(0, maxSecretValue)).with("updated_at", str())
	moduleRefSchema  = object().with("module_id", str()).with("module_name", str()).
				with("module_version_id", str()).with("module_version_number", integer())

	createActionSchema = actionSchema("name", "supported_triggers").with("deploy", boolean())
	updateActionSchema = actionSchema()

	deployVersionSchema = object().with("update_draft", boolean())

	bindingRefSchema   = object("type", "value").with("type", oneOf("action_id", "action_name", "binding_id")).with("value", nonEmpty())
	bindingSchema      = object("ref").with("ref", bindingRefSchema).with("display_name", str()).with("secrets", arrayOf(secretSchema))
	updateBindingsBody = object("bindings").with("bindings", arrayOf(bindingSchema).atMost(maxBindings))

	testActionSchema = object("payload").with("payload", anyObject())
)

func actionSchema(required ...string) *schema {
	return object(required...).
		with("name", nonEmpty()).
		with("supported_triggers", arrayOf(triggerRefSchema)).
		with("code", strLen(0, maxCodeBytes)).
		with("dependencies", arrayOf(dependencySchema).atMost(maxDependencies)).
		with("runtime", str()).
		with("secrets", arrayOf(secretSchema).atMost(maxSecrets)).
		with("modules", arrayOf(moduleRefSchema).atMost(maxModulesPerAction))
}

// The request bodies of the Action Modules API, as the Management API's
// OpenAPI document gives them (CreateActionModuleRequestContent and its
// siblings): every field bounded, secret values and dependency versions
// required, and the name fixed once created.
var (
	moduleDependencySchema = object("name", "version").with("name", strLen(0, 255)).with("version", strLen(0, 50))
	moduleSecretSchema     = object("name", "value").with("name", strLen(0, 255)).with("value", strLen(0, maxSecretValue))

	createModuleSchema = moduleSchema("name", "code").
				with("name", strLen(0, 255)).
				with("api_version", strLen(0, 20)).
				with("publish", boolean())
	updateModuleSchema   = moduleSchema()
	rollbackModuleSchema = object("module_version_id").with("module_version_id", str())
)

func moduleSchema(required ...string) *schema {
	return object(required...).
		with("code", strLen(0, maxModuleCode)).
		with("secrets", arrayOf(moduleSecretSchema).atMost(maxSecrets)).
		with("dependencies", arrayOf(moduleDependencySchema).atMost(maxDependencies))
}
