package endpoint

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage/azblob"
	"github.com/bulkhead-registry/bulkhead/internal/transfer/storage/dir"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	spaced := root + "/with space"
	if _, err := dir.New(root); err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{"file://" + root, "file://localhost" + root, (&url.URL{Scheme: "file", Path: root}).String()} {
		c, err := Open(ctx, uri, "")
		if err != nil {
			t.Fatalf("Open(%q) = %v", uri, err)
		}
		if d, ok := c.(*dir.Container); !ok || d.Root() != root {
			t.Errorf("Open(%q) = %T %v", uri, c, c)
		}
	}
	if _, err := Open(ctx, (&url.URL{Scheme: "file", Path: spaced}).String(), ""); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("a missing directory: %v, want not found", err)
	}
	for _, uri := range []string{"https://acct.blob.core.windows.net/container", "http://127.0.0.1:10000/devstoreaccount1/container"} {
		c, err := Open(ctx, uri, "?sv=1&sig=x")
		if err != nil {
			t.Fatalf("Open(%q) = %v", uri, err)
		}
		if _, ok := c.(*azblob.Container); !ok {
			t.Errorf("Open(%q) = %T", uri, c)
		}
	}
	for _, uri := range []string{
		"s3://bucket/x", "ftp://host/dir", "relative/path", "/abs/path", "", "file:relative", "file://otherhost/abs",
		"file:///abs?x=1", "http://acct.blob.core.windows.net/container", "C:\\archives",
	} {
		_, err := Open(ctx, uri, "sv=1&sig=secret")
		if !errors.Is(err, errdef.ErrInvalidArgument) {
			t.Errorf("Open(%q) = %v, want invalid argument", uri, err)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) error quotes the token: %v", uri, err)
		}
		t.Log(err)
	}
}
