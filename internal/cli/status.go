package cli

import (
	"context"
	"errors"
	"flag"

	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/status"
)

// statusCommand is `actionsync status`: which commit the tenant runs.
type statusCommand struct {
	repo    repoFlags
	log     logFlags
	output  string
	envName string
	env     auth0Env
}

func (c *statusCommand) flags(fs *flag.FlagSet) {
	c.repo.bind(fs)
	c.log.bind(fs)
	fs.StringVar(&c.output, "output", "text", "text or json")
	bindEnv(fs, &c.envName, "")
}

func (c *statusCommand) validate() error {
	c.env = readAuth0Env(osGetenv)
	err := errors.Join(c.repo.validate(), c.log.validate(), oneOf("output", c.output, "text", "json"), validEnv(c.envName, false))
	if c.envName == "" {
		err = errors.Join(err, c.env.validate(), c.env.checkBuiltin(false))
	}
	return err
}

// run reports: exit 0 when the tenant matches the commit, 2 when anything
// differs.
func (c *statusCommand) run(ctx context.Context, out streams) (int, error) {
	defer c.repo.close()
	log := newLogger(out.stderr, c.log.format)
	t, err := c.repo.target(ctx, c.envName, c.env)
	if err != nil {
		return exitError, err
	}
	conn, err := connect(t.auth, connOptions{readOnly: true, log: log})
	if err != nil {
		return exitError, err
	}
	hist, _ := t.src.(status.History)
	rep, err := status.Check(ctx, live.NewClient(conn.api), t.src, status.Options{History: hist, Environment: t.name, Private: c.repo.private()})
	if err != nil {
		return exitError, err
	}
	switch err := renderReport(rep, c.output, out.stdout); {
	case err != nil:
		return exitError, err
	case rep.InSync:
		return exitOK, nil
	}
	return exitPending, nil
}
