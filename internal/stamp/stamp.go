// Package stamp writes and reads the comment line actionsync appends to the
// code it uploads: the keyed fingerprints of the action's secret values, so
// that a changed value shows in the next plan with no state but the
// tenant's. The planner compares code without the line, and the line alone.
package stamp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/actionsync/actionsync/internal/manifest"
)

// prefix starts the stamp line. The line is a comment, so the code runs the
// same.
const prefix = "// actionsync:secrets "

// Fingerprint is the keyed fingerprint of one secret value: the first 16 hex
// digits of HMAC-SHA256(key, name NUL value). Without the key it tells
// nothing about the value, unlike a plain hash, which a dictionary reverses.
func Fingerprint(key []byte, name, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))[:16]
}

// Code is the code actionsync uploads for a: the file as committed, plus,
// when a has secrets, the stamp line with their fingerprints under key.
func Code(a *manifest.Action, key []byte) string {
	if len(a.Secrets) == 0 {
		return a.Code
	}
	parts := make([]string, len(a.Secrets))
	for i, s := range a.Secrets {
		parts[i] = s.Name + "=" + Fingerprint(key, s.Name, s.Value)
	}
	code := a.Code
	if !strings.HasSuffix(code, "\n") {
		code += "\n"
	}
	return code + prefix + strings.Join(parts, ",") + "\n"
}

// Line returns the stamp line of code, or "".
func Line(code string) string {
	body := strings.TrimSuffix(code, "\n")
	i := strings.LastIndexByte(body, '\n')
	last := body[i+1:]
	if strings.HasPrefix(last, prefix) {
		return last
	}
	return ""
}

// Body returns code without its stamp line, ending in a newline, as code is
// compared and shown.
func Body(code string) string {
	body := strings.TrimSuffix(code, "\n")
	if t := Line(code); t != "" {
		body = strings.TrimSuffix(body[:len(body)-len(t)], "\n")
	}
	if body == "" {
		return ""
	}
	return body + "\n"
}

// Fingerprints parses the stamp line of code into name → fingerprint.
func Fingerprints(code string) map[string]string {
	out := map[string]string{}
	t := strings.TrimPrefix(Line(code), prefix)
	for _, kv := range strings.Split(t, ",") {
		if name, fp, ok := strings.Cut(kv, "="); ok {
			out[name] = fp
		}
	}
	return out
}
