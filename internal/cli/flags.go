// Package cli is actionsync's command line: it parses flags (each with an
// ACTIONSYNC_* environment twin), validates them all before anything starts,
// and runs the chosen mode.
package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// envName is the ACTIONSYNC_* twin of a flag: --build-delay is
// ACTIONSYNC_BUILD_DELAY.
func envName(flagName string) string {
	return "ACTIONSYNC_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse parses args into fs after taking defaults from the environment
// twins; a flag on the command line wins over its twin.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("$%s: %w", envName(f.Name), e)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [flags]\n", name)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(stderr, "  --%s, $%s\n    \t%s%s\n", f.Name, envName(f.Name), f.Usage, def)
		})
	}
	return fs
}

// Exit codes.
const (
	exitOK      = 0
	exitError   = 1
	exitPending = 2 // --dry-run only: changes would be made
)

var osGetenv = os.Getenv
