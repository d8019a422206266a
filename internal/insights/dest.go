package insights

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// errPosition says a destination blob is not as long as the cursor
// expects: the shipper reconciles the cursor with its real size.
var errPosition = errors.New("the destination blob's length is not the expected one")

// destination is where a setting's records go: a storage account's
// containers. Names are the layout's (audit.BlobPath). A destination is
// used by the one shipper goroutine only.
type destination interface {
	// Size is the length of a blob; 0 when it does not exist.
	Size(ctx context.Context, container, blob string) (int64, error)
	// Append adds data at the end of a blob, creating it (and its
	// container) when needed, only if the blob is at bytes long now;
	// otherwise errPosition. It returns the blob's new length. Data is
	// whole lines: a reader of the blob never sees a partial one.
	Append(ctx context.Context, container, blob string, at int64, data []byte) (int64, error)
	// PutKey writes the audit log's public key (PEM) beside the records
	// of container, for `bulkhead audit verify`: public-key.pem in the
	// container of a remote account, at the root of a local one.
	PutKey(ctx context.Context, container string, pem []byte) error
}

// keyName is the public key's name in a destination.
const keyName = "public-key.pem"

// localDest is a local storage account: <dir>/<container>/<blob> files,
// appended to and synced.
type localDest struct{ dir string }

func (d localDest) path(container, blob string) string {
	return filepath.Join(d.dir, container, filepath.FromSlash(blob))
}

func (d localDest) Size(_ context.Context, container, blob string) (int64, error) {
	fi, err := os.Stat(d.path(container, blob))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (d localDest) Append(_ context.Context, container, blob string, at int64, data []byte) (int64, error) {
	p := d.path(container, blob)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Size() != at {
		return fi.Size(), errPosition
	}
	if _, err := f.Write(data); err != nil {
		// A short write leaves a torn line; cut it off so the next try
		// appends whole lines at the same place.
		f.Truncate(at)
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	return at + int64(len(data)), f.Close()
}

func (d localDest) PutKey(_ context.Context, _ string, pem []byte) error {
	p := filepath.Join(d.dir, keyName)
	if b, err := os.ReadFile(p); err == nil && bytes.Equal(b, pem) {
		return nil
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, pem, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// remoteDest is a storage account's blob service, reached with the azblob
// SDK: one append blob per hourly file. The account key or SAS token is a
// secret and the SDK's errors can carry signed URLs, so no error from
// here wraps an SDK error: each is rewritten with the blob's name, the
// HTTP status and the service's code.
type remoteDest struct {
	svc   *service.Client
	where string // the endpoint, for messages
	sas   string // only to scrub it from messages
}

// newRemoteDest builds the client of an endpoint with its credential
// (kind credKey, credSAS or none). It sends no request.
func newRemoteDest(endpoint, kind, cred string, transport policy.Transporter, timeout time.Duration) (*remoteDest, error) {
	d := &remoteDest{where: endpoint}
	opts := &service.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: transport,
		Retry: policy.RetryOptions{MaxRetries: -1, TryTimeout: timeout}}}
	var err error
	switch kind {
	case credKey:
		u, _ := url.Parse(endpoint)
		var sk *service.SharedKeyCredential
		if sk, err = service.NewSharedKeyCredential(endpointAccount(u), cred); err == nil {
			d.svc, err = service.NewClientWithSharedKeyCredential(endpoint+"/", sk, opts)
		}
	case credSAS:
		d.sas = cred
		d.svc, err = service.NewClientWithNoCredential(endpoint+"/?"+cred, opts)
	default:
		d.svc, err = service.NewClientWithNoCredential(endpoint+"/", opts)
	}
	if err != nil {
		return nil, fmt.Errorf("storage endpoint %s: the client could not be built (check the account key or SAS token)", endpoint)
	}
	return d, nil
}

func (d *remoteDest) blob(container, name string) *appendblob.Client {
	return d.svc.NewContainerClient(container).NewAppendBlobClient(name)
}

func (d *remoteDest) Size(ctx context.Context, container, name string) (int64, error) {
	p, err := d.blob(container, name).GetProperties(ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) || status(err) == 404 {
		return 0, nil
	}
	if err != nil {
		return 0, d.fail("read the length of", container, name, err)
	}
	return deref(p.ContentLength), nil
}

func (d *remoteDest) Append(ctx context.Context, container, name string, at int64, data []byte) (int64, error) {
	ab := d.blob(container, name)
	opts := &appendblob.AppendBlockOptions{AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr(at)}}
	for try := 0; ; try++ {
		_, err := ab.AppendBlock(ctx, streaming.NopCloser(bytes.NewReader(data)), opts)
		switch {
		case err == nil:
			return at + int64(len(data)), nil
		case bloberror.HasCode(err, bloberror.AppendPositionConditionNotMet) || status(err) == 412:
			return 0, errPosition
		case try == 0 && at == 0 && (bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) || status(err) == 404):
			if err := d.create(ctx, container, name); err != nil {
				return 0, err
			}
			continue
		case bloberror.HasCode(err, bloberror.BlobNotFound) && at > 0:
			return 0, errPosition // removed meanwhile: the cursor starts it again
		}
		return 0, d.fail("append to", container, name, err)
	}
}

func (d *remoteDest) PutKey(ctx context.Context, container string, pem []byte) error {
	_, err := d.svc.NewContainerClient(container).NewBlockBlobClient(keyName).UploadBuffer(ctx, pem,
		&blockblob.UploadBufferOptions{HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("application/x-pem-file")}})
	if err != nil {
		return d.fail("write the audit public key to", container, keyName, err)
	}
	return nil
}

// create makes an empty append blob, and its container when that is
// missing; an existing blob is kept, never replaced.
func (d *remoteDest) create(ctx context.Context, container, name string) error {
	ab := d.blob(container, name)
	opts := &appendblob.CreateOptions{HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("application/json")},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}}
	for try := 0; ; try++ {
		_, err := ab.Create(ctx, opts)
		switch {
		case err == nil || bloberror.HasCode(err, bloberror.BlobAlreadyExists) || status(err) == 409 || status(err) == 412:
			return nil
		case try == 0 && bloberror.HasCode(err, bloberror.ContainerNotFound):
			_, err := d.svc.NewContainerClient(container).Create(ctx, nil)
			if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
				return d.fail("create the container of", container, name, err)
			}
			continue
		}
		return d.fail("create", container, name, err)
	}
}

// fail rewrites an SDK error without the request URL: the status and the
// service's code for an answer, the cause alone for a transport failure.
func (d *remoteDest) fail(op, container, name string, err error) error {
	var re *azcore.ResponseError
	var ue *url.Error
	var why string
	switch {
	case errors.As(err, &re):
		why = fmt.Sprintf("HTTP %d %s", re.StatusCode, re.ErrorCode)
	case errors.Is(err, context.DeadlineExceeded):
		why = "no answer in time"
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.As(err, &ue):
		why = ue.Err.Error()
	default:
		why = "the request failed"
	}
	if d.sas != "" {
		why = strings.ReplaceAll(why, d.sas, "<sas>")
	}
	return fmt.Errorf("%s %s/%s/%s: %s", op, d.where, container, name, why)
}

// status is the HTTP status of an SDK answer, 0 for anything else.
func status(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}
