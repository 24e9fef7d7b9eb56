// Package stamp writes and reads the comment line actionsync appends to the
// code it uploads (an action's, or an Action Module's): who wrote it (the repo's owner), from which
// commit, and the keyed fingerprints of its secret values, so that a changed
// value shows in the next plan with no state but the tenant's. The planner
// compares code without the line, and the line's owner and fingerprints.
//
// The line, last in the code:
//
//	// actionsync owner=identity commit=3f2c… secrets=API_KEY:4f1c2a9b0d3e5f61,B:…
//
// Lines written before owners existed (`// actionsync:secrets A=fp,...`)
// are read as written by DefaultOwner.
package stamp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"

	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/tenant"
)

// DefaultOwner is the owner of a repo that names none.
const DefaultOwner = "actionsync"

const (
	prefix       = "// actionsync "
	legacyPrefix = "// actionsync:secrets "
)

// Stamp is what the line says.
type Stamp struct {
	// Owner is the owner of the repo that wrote the action.
	Owner string
	// Commit is the revision the action's content came from.
	Commit string
	// Secrets maps each secret's name to its keyed fingerprint.
	Secrets map[string]string
}

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

// For is the stamp of a as owner writes it from commit, its secrets
// fingerprinted under key.
func For(a *manifest.Action, owner, commit string, key []byte) Stamp {
	return forSecrets(a.Secrets, owner, commit, key)
}

// ForModule is the stamp of an Action Module as owner writes it from
// commit: the same line as an action's, so a module has an owner and its
// secrets' fingerprints live in its code, and each published version
// keeps the ones it was published with.
func ForModule(m *manifest.Module, owner, commit string, key []byte) Stamp {
	return forSecrets(m.Secrets, owner, commit, key)
}

func forSecrets(secrets []manifest.Secret, owner, commit string, key []byte) Stamp {
	s := Stamp{Owner: owner, Commit: commit, Secrets: map[string]string{}}
	for _, sec := range secrets {
		s.Secrets[sec.Name] = Fingerprint(key, sec.Name, sec.Value)
	}
	return s
}

// Code is the code to upload: body (the code file as committed) with the
// stamp line last.
func (s Stamp) Code(body string) string {
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	return body + s.Line() + "\n"
}

// Line is the stamp as its comment line, without a newline. Names and
// values hold no spaces, commas or colons (owner names and secret names are
// validated; revisions are hex), so the line reads back as written.
func (s Stamp) Line() string {
	var b strings.Builder
	b.WriteString(prefix + "owner=" + s.Owner)
	if s.Commit != "" {
		b.WriteString(" commit=" + s.Commit)
	}
	if len(s.Secrets) > 0 {
		b.WriteString(" secrets=")
		for i, name := range slices.Sorted(maps.Keys(s.Secrets)) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(name + ":" + s.Secrets[name])
		}
	}
	return b.String()
}

// Split separates code into its body (ending in a newline, as code is
// compared and shown) and its stamp; ok is false when code has no stamp
// line.
func Split(code string) (body string, s Stamp, ok bool) {
	trimmed := strings.TrimSuffix(code, "\n")
	i := strings.LastIndexByte(trimmed, '\n')
	s, ok = parse(trimmed[i+1:])
	if !ok {
		return normalise(code), Stamp{Secrets: map[string]string{}}, false
	}
	return normalise(trimmed[:max(i, 0)]), s, true
}

// Of is the stamp of a live action: its draft's; or, when the draft has
// none (its code was replaced in the dashboard), its deployed version's; or
// else the newest stamped version's among those read. An action actionsync
// once wrote so stays its owner's through an edit in the dashboard. ok is
// false when none carries one: the action was made outside actionsync.
func Of(a *tenant.Action) (s Stamp, ok bool) {
	if _, s, ok = Split(a.Code); ok {
		return s, true
	}
	if a.Deployed != nil {
		if _, s, ok = Split(a.Deployed.Code); ok {
			return s, true
		}
	}
	return newest(a.Versions, func(v tenant.Version) (int, string) { return v.Number, v.Code })
}

// newest is the stamp of the newest stamped version of vs, each version's
// number and code as version gives them.
func newest[V any](vs []V, version func(V) (int, string)) (s Stamp, ok bool) {
	top := 0
	for _, v := range vs {
		n, code := version(v)
		if _, vs, vok := Split(code); vok && n > top {
			s, ok, top = vs, true, n
		}
	}
	return s, ok
}

// OfModule is the stamp of a live module: its draft's, or else the newest
// stamped version's among those read. ok is false when none carries one:
// the module was made outside actionsync.
func OfModule(m *tenant.Module) (s Stamp, ok bool) {
	if _, s, ok = Split(m.Code); ok {
		return s, true
	}
	return newest(m.Versions, func(v tenant.ModuleVersion) (int, string) { return v.Number, v.Code })
}

// Body is code without its stamp line, ending in a newline.
func Body(code string) string {
	body, _, _ := Split(code)
	return body
}

func normalise(body string) string {
	body = strings.TrimSuffix(body, "\n")
	if body == "" {
		return ""
	}
	return body + "\n"
}

func parse(line string) (Stamp, bool) {
	s := Stamp{Secrets: map[string]string{}}
	if rest, ok := strings.CutPrefix(line, legacyPrefix); ok {
		s.Owner = DefaultOwner
		for _, kv := range strings.Split(rest, ",") {
			if name, fp, ok := strings.Cut(kv, "="); ok {
				s.Secrets[name] = fp
			}
		}
		return s, true
	}
	rest, ok := strings.CutPrefix(line, prefix)
	if !ok {
		return s, false
	}
	for _, field := range strings.Fields(rest) {
		key, value, _ := strings.Cut(field, "=")
		switch key {
		case "owner":
			s.Owner = value
		case "commit":
			s.Commit = value
		case "secrets":
			for _, kv := range strings.Split(value, ",") {
				if name, fp, ok := strings.Cut(kv, ":"); ok {
					s.Secrets[name] = fp
				}
			}
		}
	}
	return s, s.Owner != ""
}
