// Package azblob is a storage.Container in an Azure Blob Storage container,
// authenticated by a SAS token: where ACR's export pipelines put their
// archives and import pipelines find them (reference/acr-api.md §6).
//
// Objects are block blobs. A writer stages blocks and commits the block
// list only in Commit, so a blob appears whole or not at all; a reader
// downloads one stream and turns a Seek into a ranged download, started
// lazily at the next Read.
//
// The SAS token is a bearer secret, and the SDK's own errors carry the
// signed request URL. So no error from this package wraps an SDK error:
// each is rewritten with the container's address, the operation, the HTTP
// status and the service's error code, and wraps an errdef class.
package azblob

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage"
)

// Defaults for Options.
const (
	DefaultBlockSize   = 8 << 20
	DefaultConcurrency = 2
	// MaxBlocks is the most blocks a block blob may have: with the
	// default block size an object may reach 400 GiB.
	MaxBlocks = 50_000
	// maxBlockSize is the service's limit for one staged block.
	maxBlockSize = 4000 << 20
)

// Options tune a Container. The zero value is ready to use.
type Options struct {
	// BlockSize is the size of each staged block; default
	// DefaultBlockSize, at most 4000 MiB.
	BlockSize int
	// Concurrency is how many blocks one writer stages at once; default
	// DefaultConcurrency. A writer holds at most Concurrency+1 blocks in
	// memory: the ones in flight and the one it fills.
	Concurrency int
	// Transport sends the requests; default azcore's HTTP client.
	Transport policy.Transporter
	// Retry tunes the SDK's retries; the zero value is the SDK's default.
	Retry policy.RetryOptions
}

// Container is an Azure Blob Storage container. Its methods are safe for
// concurrent use.
type Container struct {
	client      *container.Client
	where       string // scheme://host/path, for messages: never the SAS
	sas         string // only to scrub it from messages, should one echo it
	blockSize   int
	concurrency int
}

var _ storage.Container = (*Container)(nil)

// New returns the container at uri, authenticated by sas (a SAS token's
// query string, with or without its leading `?`). It sends no request.
//
// uri is https://account.blob.core.windows.net/container (any host, one
// path segment), or path-style scheme://host/account/container, which
// Azurite and IP-addressed endpoints use. Plain http is accepted only for
// a loopback host (Azurite on this machine): elsewhere it would send the
// SAS token in clear. A URI with user info, a query or a fragment is
// refused: the SAS token comes separately, from the pipeline's Key Vault
// secret. Every refusal wraps errdef.ErrInvalidArgument.
func New(uri, sas string, o Options) (*Container, error) {
	u, err := parseURI(uri)
	if err != nil {
		return nil, err
	}
	sas = strings.TrimPrefix(sas, "?")
	if err := checkSAS(sas); err != nil {
		return nil, err
	}
	if o.BlockSize <= 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.BlockSize > maxBlockSize {
		return nil, fmt.Errorf("azure blob block size %d is over %d: %w", o.BlockSize, maxBlockSize, errdef.ErrInvalidArgument)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	c := &Container{where: u.String(), sas: sas, blockSize: o.BlockSize, concurrency: o.Concurrency}
	opts := &container.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: o.Transport, Retry: o.Retry}}
	c.client, err = container.NewClientWithNoCredential(u.String()+"?"+sas, opts)
	if err != nil {
		return nil, fmt.Errorf("azure blob container %s: %s: %w", c.where, c.scrub(err), errdef.ErrInvalidArgument)
	}
	return c, nil
}

// parseURI checks a container URI and returns it without a trailing slash.
func parseURI(uri string) (*url.URL, error) {
	bad := func(why string) (*url.URL, error) {
		return nil, fmt.Errorf("azure blob container URI: %s: %w", why, errdef.ErrInvalidArgument)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return bad("not a URL") // url's message would echo a pasted SAS
	}
	switch {
	case u.Scheme == "http" && !loopback(u.Hostname()):
		return bad("http (without TLS) is allowed only for a loopback host such as Azurite's; use https")
	case u.Scheme != "https" && u.Scheme != "http":
		return bad(fmt.Sprintf("scheme %q, want https", u.Scheme))
	case u.Host == "":
		return bad("no host")
	case u.User != nil:
		return bad("user info is not allowed")
	case u.RawQuery != "" || u.ForceQuery:
		return bad("it has a query; give the SAS token separately, not in the URI")
	case u.Fragment != "":
		return bad("a fragment is not allowed")
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) > 2 {
		return bad(fmt.Sprintf("path %q, want /container or, path-style, /account/container", u.Path))
	}
	if !containerName(segs[len(segs)-1]) {
		return bad(fmt.Sprintf("container name %q: want 3-63 lower-case letters, digits and single hyphens", segs[len(segs)-1]))
	}
	if len(segs) == 2 && segs[0] == "" {
		return bad("empty account name")
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/" + strings.Join(segs, "/")}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// containerName follows Azure's rules for container names, and takes the
// special $root.
func containerName(s string) bool {
	if s == "$root" {
		return true
	}
	if len(s) < 3 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkSAS checks that sas looks like a SAS token, without ever quoting it.
func checkSAS(sas string) error {
	if sas == "" {
		return fmt.Errorf("azure blob container: a SAS token is required: %w", errdef.ErrInvalidArgument)
	}
	q, err := url.ParseQuery(sas)
	if err != nil {
		return fmt.Errorf("azure blob container: the SAS token is not a URL query string: %w", errdef.ErrInvalidArgument)
	}
	if q.Get("sig") == "" {
		return fmt.Errorf("azure blob container: the SAS token has no signature (sig): %w", errdef.ErrInvalidArgument)
	}
	return nil
}

// URI is the container's address, without the SAS token.
func (c *Container) URI() string { return c.where }

// Stat implements storage.Container.
func (c *Container) Stat(ctx context.Context, name string) (storage.Info, error) {
	if err := CheckName(name); err != nil {
		return storage.Info{}, err
	}
	p, err := c.client.NewBlobClient(name).GetProperties(ctx, nil)
	if err != nil {
		return storage.Info{}, c.wrap("stat", name, err)
	}
	return propertiesInfo(name, p), nil
}

func propertiesInfo(name string, p blob.GetPropertiesResponse) storage.Info {
	info := storage.Info{
		Name:       name,
		Size:       deref(p.ContentLength),
		ContentMD5: p.ContentMD5,
		Metadata:   metadata(p.Metadata),
	}
	if p.LastModified != nil {
		info.LastModified = p.LastModified.UTC()
	}
	if p.ETag != nil {
		info.ETag = string(*p.ETag)
	}
	return info
}

// List implements storage.Container: one flat listing, with metadata.
// Blobs whose names this package would refuse are left out, so that every
// name listed can be opened. Blobs with only uncommitted blocks (writers
// in progress) are never listed.
func (c *Container) List(ctx context.Context) ([]storage.Info, error) {
	pager := c.client.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Include: container.ListBlobsInclude{Metadata: true},
	})
	var infos []storage.Info
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, c.wrap("list", "", err)
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name == nil || b.Properties == nil || CheckName(*b.Name) != nil {
				continue
			}
			p := b.Properties
			info := storage.Info{
				Name:       *b.Name,
				Size:       deref(p.ContentLength),
				ContentMD5: p.ContentMD5,
				Metadata:   metadata(b.Metadata),
			}
			if p.LastModified != nil {
				info.LastModified = p.LastModified.UTC()
			}
			if p.ETag != nil {
				info.ETag = string(*p.ETag)
			}
			infos = append(infos, info)
		}
	}
	return infos, nil
}

// Delete implements storage.Container. Snapshots of the blob go with it.
func (c *Container) Delete(ctx context.Context, name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	_, err := c.client.NewBlobClient(name).Delete(ctx, &blob.DeleteOptions{
		DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude),
	})
	if err != nil {
		return c.wrap("delete", name, err)
	}
	return nil
}

// metadata turns the SDK's map into Info's, keys lower-cased: Go's HTTP
// client canonicalises header names, so GetProperties answers
// x-ms-meta-category as "Category".
func metadata(m map[string]*string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != nil {
			out[strings.ToLower(k)] = *v
		}
	}
	return out
}

func toSDKMetadata(m map[string]string) map[string]*string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = to.Ptr(v)
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
