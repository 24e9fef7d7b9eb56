package source

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
)

// fetchLimit is the size from which a file is left on the server, when the
// server allows partial fetches (Git's "filter" capability, as GitHub,
// GitLab and git with uploadpack.allowFilter do): the loader refuses any
// file that large anyway, and go-git would pass each fetched file through
// memory whole while it indexes the pack.
const fetchLimit = 1 << 20

// ErrNotFetched is the error of opening a file of fetchLimit bytes or more
// that a partial fetch left on the server.
var ErrNotFetched = errors.New("a file of 1 MiB or more, not fetched")

// fetchCommit fetches the commit branch points at, at depth 1, into st,
// leaving out files of fetchLimit bytes or more when the server allows it.
// It returns the commit. (go-git's Clone cannot ask for a filter.)
func fetchCommit(ctx context.Context, url, branch string, auth transport.AuthMethod, st storer.Storer) (plumbing.Hash, error) {
	sess, err := uploadPack(url, auth)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer sess.Close()
	adv, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	head, err := branchHead(adv, branch)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	req, err := packRequest(adv.Capabilities, head)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	resp, err := sess.UploadPack(ctx, req)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer resp.Close()
	if err := packfile.UpdateObjectStorage(st, demux(req.Capabilities, resp)); err != nil {
		return plumbing.ZeroHash, err
	}
	return head, nil
}

// uploadPack opens a session with the remote's upload-pack, over whichever
// transport the URL names.
func uploadPack(url string, auth transport.AuthMethod) (transport.UploadPackSession, error) {
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, err
	}
	cli, err := client.NewClient(ep)
	if err != nil {
		return nil, err
	}
	return cli.NewUploadPackSession(ep, auth)
}

func branchHead(adv *packp.AdvRefs, branch string) (plumbing.Hash, error) {
	refs, err := adv.AllReferences()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	ref, ok := refs[plumbing.NewBranchReferenceName(branch)]
	if !ok {
		return plumbing.ZeroHash, fmt.Errorf("no branch %s", branch)
	}
	return ref.Hash(), nil
}

// packRequest asks for head alone, at depth 1, without progress, and with
// the blob filter where the server offers it.
func packRequest(offered *capability.List, head plumbing.Hash) (*packp.UploadPackRequest, error) {
	req := packp.NewUploadPackRequestFromCapabilities(offered)
	req.Wants = []plumbing.Hash{head}
	req.Depth = packp.DepthCommits(1)
	want := []capability.Capability{capability.Shallow}
	if offered.Supports(capability.NoProgress) {
		want = append(want, capability.NoProgress)
	}
	if offered.Supports(capability.Filter) {
		want = append(want, capability.Filter)
		req.Filter = packp.FilterBlobLimit(fetchLimit, packp.BlobLimitPrefixNone)
	}
	for _, c := range want {
		if err := req.Capabilities.Set(c); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// demux takes the pack out of the side band, when one was asked for.
func demux(caps *capability.List, r io.Reader) io.Reader {
	switch {
	case caps.Supports(capability.Sideband64k):
		return sideband.NewDemuxer(sideband.Sideband64k, r)
	case caps.Supports(capability.Sideband):
		return sideband.NewDemuxer(sideband.Sideband, r)
	}
	return r
}
