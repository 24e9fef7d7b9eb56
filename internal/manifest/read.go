package manifest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Bounds on what the loader reads. Every file is read through one of these
// caps, never whole, so a hostile repo costs at most a few hundred
// kilobytes a file.
const (
	// MaxFileBytes bounds action.yaml and triggers.yaml.
	MaxFileBytes = 256 << 10
	// MaxCodeBytes is Auth0's limit on an action's code ("Each Action
	// should not exceed 100 kB"), read as 102,400 bytes as the local tenant
	// enforces it. A code file is read up to one byte past it.
	MaxCodeBytes = 100 << 10
	// maxSecretFileBytes bounds a from_file secret source; the value
	// itself may hold maxSecretValue bytes.
	maxSecretFileBytes = 64 << 10
	// maxHops bounds the symbolic links followed in one path, as Linux's
	// ELOOP does.
	maxHops = 40
)

// linkOutError is a path through a symbolic link that leads out of the
// repo: its target is absolute, or climbs above the repo's root. Such a
// link is never followed.
type linkOutError struct{ link, target string }

func (e *linkOutError) Error() string {
	return fmt.Sprintf("%s is a symbolic link out of the repo (-> %s)", e.link, e.target)
}

// private reports whether p, resolved, is inside a directory of a work
// tree that is not the repo's content: Git's own (.git/config may hold a
// CI job's token) or actionsync's (.actionsync/ holds the built-in
// tenant's state, secret values included). A link in a pull request must
// not put either in a plan.
func private(p string) bool {
	elems := strings.Split(p, "/")
	return elems[0] == ".actionsync" || slices.Contains(elems, ".git")
}

// privateError is a path that leads into such a directory.
type privateError struct{ real string }

func (e *privateError) Error() string {
	return fmt.Sprintf("leads to %s: the files of .git/ and .actionsync/ are not the repo's content, and are never read", e.real)
}

// errLoop is a path through more than maxHops symbolic links.
var errLoop = errors.New("too many levels of symbolic links")

// step is one element of a path still to resolve, and the link whose
// target it came from (nil for the path asked for).
type step struct {
	elem string
	from *linkOutError
}

// resolve follows name through fsys one element at a time, as the kernel
// would, and returns the path it leads to, none of whose elements is a
// link. A link whose target is absolute or climbs above the root is a
// *linkOutError naming that link. Trees that do not implement
// fs.ReadLinkFS show no links, and are read as they are.
func resolve(fsys fs.FS, name string) (string, error) {
	var done []string
	rest := steps(name, nil)
	for hops := 0; len(rest) > 0; {
		s := rest[0]
		rest = rest[1:]
		switch s.elem {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 && s.from == nil {
				return "", fs.ErrInvalid
			}
			if len(done) == 0 {
				return "", s.from
			}
			done = done[:len(done)-1]
			continue
		}
		p := path.Join(append(done, s.elem)...)
		fi, err := fs.Lstat(fsys, p)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, s.elem)
			continue
		}
		target, err := fs.ReadLink(fsys, p)
		if err != nil {
			return "", err
		}
		link := &linkOutError{link: p, target: target}
		if path.IsAbs(target) {
			return "", link
		}
		if hops++; hops > maxHops {
			return "", fmt.Errorf("%s: %w", p, errLoop)
		}
		rest = append(steps(target, link), rest...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

func steps(p string, from *linkOutError) []step {
	var out []step
	for _, e := range strings.Split(p, "/") {
		out = append(out, step{e, from})
	}
	return out
}

// tooLargeError is a file past its read cap.
type tooLargeError struct {
	limit int64
	what  string
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("larger than %s bytes: %s", commas(e.limit), e.what)
}

// ReadRepoFile reads name from a repo's tree as the loader reads each of
// its files: links resolved inside the repo, a link out of it refused and
// named with its target, at most limit bytes (past that an error saying
// what is bounded).
func ReadRepoFile(fsys fs.FS, name string, limit int64, what string) ([]byte, error) {
	b, err := readFile(fsys, name, limit, what)
	if err != nil {
		return nil, describe(name, err)
	}
	return b, nil
}

// readFile reads name from fsys, resolving links inside the repo and
// refusing those that lead out, and reading at most limit bytes: past
// that it is a *tooLargeError naming what.
func readFile(fsys fs.FS, name string, limit int64, what string) ([]byte, error) {
	real, err := resolve(fsys, name)
	if err != nil {
		return nil, err
	}
	if private(real) {
		return nil, &privateError{real: real}
	}
	f, err := fsys.Open(real)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	return readCapped(f, limit, what)
}

func readCapped(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &tooLargeError{limit: limit, what: what}
	}
	return b, nil
}

// readSecretFile is the default Options.ReadFile: a regular file on the
// machine, checked once opened (openSecretFile), read up to
// maxSecretFileBytes.
func readSecretFile(name string, private []string) ([]byte, error) {
	f, err := openSecretFile(name, private)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readCapped(f, maxSecretFileBytes, "a secret file is read up to 64 KiB")
}

// describe words a read error for the file it concerns: a link out of the
// repo is named, with its target.
func describe(file string, err error) error {
	var out *linkOutError
	switch {
	case errors.As(err, &out) && out.link == file:
		return fmt.Errorf("a symbolic link out of the repo (-> %s)", out.target)
	case errors.As(err, &out):
		return out
	}
	return unwrapPath(err)
}

// commas writes n with thousands separators: 102,400.
func commas(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// unwrapPath drops a *fs.PathError's operation and path, which the caller
// words itself.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
