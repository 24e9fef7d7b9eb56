package daemon

import (
	"context"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// settle is how long a burst of file events must be quiet before it counts
// as one change (an editor's save, a git checkout).
const settle = 200 * time.Millisecond

type watcher struct {
	w   *fsnotify.Watcher
	log *slog.Logger
}

// newWatcher watches dir and every directory below it but .git.
func newWatcher(dir string, log *slog.Logger) (*watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.IsDir() {
			return err
		}
		if e.Name() == ".git" {
			return filepath.SkipDir
		}
		return w.Add(p)
	})
	if err != nil {
		w.Close()
		return nil, err
	}
	return &watcher{w: w, log: log}, nil
}

// run kicks once per settled burst of events until ctx ends.
func (w *watcher) run(ctx context.Context, kick func(string)) {
	defer w.w.Close()
	var quiet <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.w.Events:
			if !ok {
				return
			}
			if strings.Contains(ev.Name, string(filepath.Separator)+".git") {
				continue
			}
			if ev.Has(fsnotify.Create) {
				w.w.Add(ev.Name) // a new directory; a file is refused, harmlessly
			}
			quiet = time.After(settle)
		case err, ok := <-w.w.Errors:
			if !ok {
				return
			}
			w.log.Warn("watch the repo", "err", err)
		case <-quiet:
			quiet = nil
			kick("files changed")
		}
	}
}
