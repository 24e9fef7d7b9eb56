package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"

	"gopkg.in/yaml.v3"
)

// ConfigFile is the optional file at the repo root that holds settings of
// the repo as a whole.
const ConfigFile = "actionsync.yaml"

// Config is what actionsync.yaml says. Each key is one entry of the table
// in loadConfig, so a new key (environments, say) is one more entry.
type Config struct {
	// Owner is who the repo writes its actions as, in the stamp line; ""
	// when the file names none (the engine's default applies).
	Owner string
	// Environments are the tenants the repo is synced into, in the file's
	// order; none when the file names none (docs/ENVIRONMENTS.md).
	Environments []*Environment
}

// ownerName is what an owner may be: it stands in the stamp line as
// owner=<name>, so it holds no space, comma or colon.
var ownerName = regexp.MustCompile(`^[a-z0-9._-]{1,64}$`)

// ValidOwner checks an owner's name: 1 to 64 lowercase letters, digits,
// '-', '_' and '.'.
func ValidOwner(name string) error {
	if !ownerName.MatchString(name) {
		return fmt.Errorf("owner %q: want 1 to 64 lowercase letters, digits, '-', '_' and '.'", name)
	}
	return nil
}

// LoadConfig reads only actionsync.yaml of the repo at the root of fsys:
// the zero Config when there is none. What its environments name of the
// repo is checked by Load.
func LoadConfig(fsys fs.FS) (*Config, error) {
	l := &loader{fsys: fsys, repo: &Repo{}, excludeLines: map[string]int{}}
	if err := l.loadConfig(); err != nil {
		return nil, err
	}
	if len(l.errs) > 0 {
		return nil, l.errs.sorted()
	}
	return &l.repo.Config, nil
}

// loadConfig reads actionsync.yaml when the repo has one, bounded and
// inside the repo like every file the loader reads.
func (l *loader) loadConfig() error {
	b, err := readFile(l.fsys, ConfigFile, MaxFileBytes, "the bound on "+ConfigFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		l.add(&Error{Path: ConfigFile, Err: describe(ConfigFile, err)})
		return nil
	}
	root := l.parse(ConfigFile, b)
	if root == nil {
		return nil
	}
	c := &l.repo.Config
	l.fields(ConfigFile, ConfigFile, root, map[string]func(*yaml.Node){
		"owner":        func(n *yaml.Node) { l.owner(n, &c.Owner) },
		"environments": l.environments,
	})
	return nil
}

func (l *loader) owner(n *yaml.Node, dst *string) {
	before := len(l.errs)
	l.str(ConfigFile, "owner", dst, false)(n)
	if len(l.errs) > before {
		return
	}
	if err := ValidOwner(*dst); err != nil {
		l.add(&Error{Path: ConfigFile, Line: n.Line, Err: err})
		*dst = ""
	}
}
