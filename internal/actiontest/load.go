package actiontest

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/actionsync/actionsync/internal/manifest"
)

// MaxFileSize bounds one test file.
const MaxFileSize = 1 << 20

// Suite is a repo's test cases, with the repo they test.
type Suite struct {
	// Cases are the action cases (by action, then file, then order in the
	// file), then the flow cases (by trigger, in triggers.yaml's order).
	Cases []*Case
	repo  *manifest.Repo
}

// Load reads the test cases of fsys, the tree manifest.Load read into repo:
// actions/<dir>/tests/*.yaml and triggers/<trigger>.tests.yaml. It returns
// every problem at once as manifest.Errors, each with its file and line.
func Load(fsys fs.FS, repo *manifest.Repo) (*Suite, error) {
	l := &loader{fsys: fsys, repo: repo, suite: &Suite{repo: repo}}
	if err := l.actionFiles(); err != nil {
		return nil, err
	}
	if err := l.flowFiles(); err != nil {
		return nil, err
	}
	if len(l.errs) > 0 {
		sort.SliceStable(l.errs, func(i, j int) bool {
			a, b := l.errs[i], l.errs[j]
			return a.Path < b.Path || a.Path == b.Path && a.Line < b.Line
		})
		return nil, l.errs
	}
	return l.suite, nil
}

type loader struct {
	fsys  fs.FS
	repo  *manifest.Repo
	suite *Suite
	errs  manifest.Errors
}

func (l *loader) add(file string, line int, format string, args ...any) {
	l.errs = append(l.errs, &manifest.Error{Path: file, Line: line, Err: fmt.Errorf(format, args...)})
}

// actionFiles loads actions/<dir>/tests/*.yaml for every directory that
// has tests.
func (l *loader) actionFiles() error {
	dirs, err := fs.ReadDir(l.fsys, "actions")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read actions/: %w", err)
	}
	byDir := map[string]*manifest.Action{}
	for _, a := range l.repo.Actions {
		byDir[a.Dir] = a
	}
	excluded := map[string]bool{} // left out of the environment: untested there
	for _, a := range l.repo.Excluded {
		excluded[a.Dir] = true
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		if excluded[path.Join("actions", d.Name())] {
			continue
		}
		dir := path.Join("actions", d.Name(), "tests")
		files, err := l.testDir(dir)
		if err != nil {
			return err
		}
		a := byDir[path.Join("actions", d.Name())]
		if files != nil && a == nil {
			l.add(dir, 0, "tests of no action: %s holds no action.yaml the repo loaded", path.Dir(dir))
			continue
		}
		for _, f := range files {
			l.file(f, a.Name, a.Trigger.ID)
		}
	}
	return nil
}

// testDir lists the *.yaml files of dir; nil when there is no dir.
func (l *loader) testDir(dir string) ([]string, error) {
	entries, err := fs.ReadDir(l.fsys, dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil && !isNotDir(l.fsys, dir):
		return nil, fmt.Errorf("read %s: %w", dir, err)
	case err != nil:
		l.add(dir, 0, "want a directory of test files (*.yaml)")
		return nil, nil
	}
	files := []string{}
	for _, e := range entries {
		p := path.Join(dir, e.Name())
		switch {
		case e.IsDir():
		case strings.HasSuffix(e.Name(), ".yaml"):
			files = append(files, p)
		case strings.HasSuffix(e.Name(), ".yml"):
			l.add(p, 0, "test files end in .yaml")
		}
	}
	return files, nil
}

func isNotDir(fsys fs.FS, p string) bool {
	st, err := fs.Stat(fsys, p)
	return err == nil && !st.IsDir()
}

// flowFiles loads triggers/<trigger>.tests.yaml, in triggers.yaml's order.
func (l *loader) flowFiles() error {
	files, err := l.testDir("triggers")
	if err != nil || files == nil {
		return err
	}
	for _, t := range l.repo.Triggers {
		if p := path.Join("triggers", t.ID+".tests.yaml"); slices.Contains(files, p) {
			l.file(p, "", t.ID)
		}
	}
	for _, p := range files {
		id, ok := strings.CutSuffix(path.Base(p), ".tests.yaml")
		switch {
		case !ok:
			l.add(p, 0, "flow test files are named triggers/<trigger>.tests.yaml")
		case l.repo.Trigger(id) == nil:
			l.add(p, 0, "trigger %s is not managed by triggers.yaml, so it has no flow to test (managed: %s)", id, l.managed())
		}
	}
	return nil
}

func (l *loader) managed() string {
	ids := make([]string, len(l.repo.Triggers))
	for i, t := range l.repo.Triggers {
		ids[i] = t.ID
	}
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

// readFile reads p as the manifest's files are read: no link out of the
// repo, at most MaxFileSize bytes.
func (l *loader) readFile(p string) ([]byte, bool) {
	b, err := manifest.ReadRepoFile(l.fsys, p, MaxFileSize, "a test file is read up to 1 MiB")
	if err != nil {
		l.add(p, 0, "%v", err)
		return nil, false
	}
	return b, true
}
