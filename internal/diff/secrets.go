package diff

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"

	"github.com/actionsync/actionsync/internal/manifest"
)

// trailerPrefix starts the last line of uploaded code that carries the
// secrets' fingerprints. The line is a comment, so the code runs the same.
const trailerPrefix = "// actionsync:secrets "

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

// DesiredCode is the code actionsync uploads for a: the file as committed,
// plus, when a has secrets, a trailing comment with their fingerprints, so a
// changed value shows in the next plan without any state but the tenant's.
func DesiredCode(a *manifest.Action, key []byte) string {
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
	return code + trailerPrefix + strings.Join(parts, ",") + "\n"
}

// trailer returns the fingerprint line of code, or "".
func trailer(code string) string {
	body := strings.TrimSuffix(code, "\n")
	i := strings.LastIndexByte(body, '\n')
	last := body[i+1:]
	if strings.HasPrefix(last, trailerPrefix) {
		return last
	}
	return ""
}

// stripTrailer returns code without its fingerprint line, ending in a
// newline, as the code is compared and shown.
func stripTrailer(code string) string {
	body := strings.TrimSuffix(code, "\n")
	if t := trailer(code); t != "" {
		body = strings.TrimSuffix(body[:len(body)-len(t)], "\n")
	}
	if body == "" {
		return ""
	}
	return body + "\n"
}

// fingerprints parses a trailer into name → fingerprint.
func fingerprints(code string) map[string]string {
	out := map[string]string{}
	t := strings.TrimPrefix(trailer(code), trailerPrefix)
	for _, kv := range strings.Split(t, ",") {
		if name, fp, ok := strings.Cut(kv, "="); ok {
			out[name] = fp
		}
	}
	return out
}

// changedSecrets names the secrets whose value or presence differs between
// the desired action and the live one; values are never compared directly.
func changedSecrets(a *manifest.Action, key []byte, l *LiveAction) []string {
	live := fingerprints(l.Code)
	names := map[string]bool{}
	for _, n := range l.Secrets {
		names[n] = true
	}
	var out []string
	for _, s := range a.Secrets {
		if !names[s.Name] || live[s.Name] != Fingerprint(key, s.Name, s.Value) {
			out = append(out, s.Name)
		}
		delete(names, s.Name)
	}
	for n := range names {
		out = append(out, n) // removed
	}
	sort.Strings(out)
	return out
}
