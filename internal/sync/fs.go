package sync

import (
	"io/fs"
	"os"
)

func fsDir(path string) fs.FS { return os.DirFS(path) }
