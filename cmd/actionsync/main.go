// Command actionsync makes the Actions of an Auth0 tenant match a Git commit,
// and keeps them matching. See the README for its flags and exit codes.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/actionsync/actionsync/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx)
	stop()
	os.Exit(code)
}

// run turns a panic into exit code 1, never Go's 2, which means "changes
// pending" to a dry run's caller.
func run(ctx context.Context) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(os.Stderr, "actionsync: internal error: %v\n", p)
			code = 1
		}
	}()
	return cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
}
