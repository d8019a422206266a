package audit

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// BlobSource reads a copy in an Azure storage account, as diagnostic
// settings write it: rawURL is the account's blob endpoint (every
// insights-* container) or one container, with a SAS token in its query
// that allows listing and reading. Path-style URLs (an IP address or
// localhost, as Azurite serves) carry the account as their first segment.
func BlobSource(rawURL string) (Source, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("storage URL %q: want http(s)://account.blob.core.windows.net[/container]?<sas>", redact(rawURL))
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if segs[0] == "" {
		segs = nil
	}
	host := u.Hostname()
	pathStyle := net.ParseIP(host) != nil || host == "localhost"
	accountSegs := 0
	if pathStyle {
		accountSegs = 1
	}
	if len(segs) < accountSegs || len(segs) > accountSegs+1 {
		return nil, fmt.Errorf("storage URL %q: want the account's endpoint or one container", redact(rawURL))
	}
	account := *u
	account.Path = "/" + strings.Join(segs[:accountSegs], "/")
	svc, err := service.NewClientWithNoCredential(account.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("storage URL %q: %v", redact(rawURL), err)
	}
	s := &blobSource{svc: svc}
	if len(segs) > accountSegs {
		s.only = segs[accountSegs]
	}
	return s, nil
}

// redact drops a URL's query, where a SAS token would be.
func redact(raw string) string {
	s, _, _ := strings.Cut(raw, "?")
	return s
}

type blobSource struct {
	svc  *service.Client
	only string
}

func (s *blobSource) containers(ctx context.Context) ([]string, error) {
	if s.only != "" {
		return []string{s.only}, nil
	}
	var out []string
	pager := s.svc.NewListContainersPager(&service.ListContainersOptions{Prefix: ptr("insights-")})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list containers: %s", blobError(err))
		}
		for _, c := range page.ContainerItems {
			out = append(out, *c.Name)
		}
	}
	return out, nil
}

func (s *blobSource) List(ctx context.Context) ([]string, error) {
	cs, err := s.containers(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cs {
		pager := s.svc.NewContainerClient(c).NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: ptr("resourceId=")})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list %s: %s", c, blobError(err))
			}
			for _, b := range page.Segment.BlobItems {
				name := c + "/" + *b.Name
				if _, ok := HourOf(name); ok {
					out = append(out, name)
				}
			}
		}
	}
	return out, nil
}

func (s *blobSource) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	c, blobName, _ := strings.Cut(name, "/")
	resp, err := s.svc.NewContainerClient(c).NewBlobClient(blobName).DownloadStream(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %s", name, blobError(err))
	}
	return resp.Body, nil
}

// blobError is an SDK error without the signed URL it carries.
func blobError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "?"); i >= 0 {
		if j := strings.IndexAny(msg[i:], " \n"); j >= 0 {
			msg = msg[:i] + msg[i+j:]
		} else {
			msg = msg[:i]
		}
	}
	return msg
}

func ptr[T any](v T) *T { return &v }
