package manifest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength bounds an action's name and a binding's display name, in
// characters. Auth0 documents no bound on action names; 255 is the bound
// its API document gives module names, the nearest one it states.
const MaxNameLength = 255

// checkName reports why s cannot name an action (or, for a display name,
// show one): it must be 1 to MaxNameLength printable characters, without
// surrounding spaces. Printable excludes control characters (newlines, ANSI
// escapes) and format characters (the bidirectional overrides of "Trojan
// Source"), which would let a name rewrite the terminal or the page that
// shows it. A "/" is allowed, as tenants hold such names: a name is never a
// path (actionsync export makes a directory name of its own from it), and
// every rendering escapes what it prints.
func checkName(s string) error {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return fmt.Errorf("want a non-empty name")
	case n > MaxNameLength:
		return fmt.Errorf("%d characters, want at most %d", n, MaxNameLength)
	}
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return fmt.Errorf("character %s is not printable", strings.Trim(strconv.QuoteRune(r), "'"))
		}
	}
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("want no surrounding spaces")
	}
	return nil
}

// quoteName quotes a name for an error, cut to its first 64 characters.
func quoteName(s string) string {
	if utf8.RuneCountInString(s) <= 64 {
		return strconv.Quote(s)
	}
	return strconv.Quote(string([]rune(s)[:64])) + "..."
}

// Escape shows s with every character a terminal or a page would act on
// rather than print written as a Go escape: control characters (newlines,
// tabs, ANSI escapes), format characters (bidirectional overrides,
// zero-width joiners), line and paragraph separators, and bytes that are
// not UTF-8. Everything else is left as it is, so plain text reads the
// same. Renderings and errors pass repo and tenant text through it.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			b.WriteString(strings.Trim(strconv.QuoteRune(r), "'"))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsEscape(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	return strings.IndexFunc(s, unsafeRune) >= 0
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}
