package acr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
	"github.com/bulkhead-registry/bulkhead/internal/egress"
	"github.com/bulkhead-registry/bulkhead/internal/errdef"
	"github.com/bulkhead-registry/bulkhead/internal/meta"
	"github.com/bulkhead-registry/bulkhead/internal/remote"
	"github.com/bulkhead-registry/bulkhead/internal/transfer"
)

// importParams is ImportImageParameters (acr-api.md §6.4).
type importParams struct {
	Source *struct {
		ResourceID  string `json:"resourceId"`
		RegistryURI string `json:"registryUri"`
		Credentials *struct {
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"credentials"`
		SourceImage string `json:"sourceImage"`
	} `json:"source"`
	TargetTags                 []string `json:"targetTags"`
	UntaggedTargetRepositories []string `json:"untaggedTargetRepositories"`
	Mode                       string   `json:"mode"`
}

// importImage serves Registries_ImportImage: it copies an image from a
// registry of this service into the addressed one, in one transaction with
// the egress decision on the source (DESIGN.md rule 1). It answers 202 with
// a Location that is already done, as ACR's LRO.
func (p *Provider) importImage(ctx context.Context, aq *arm.Request) (_ *arm.Response, err error) {
	q, r := reqOf(aq), aq.HTTP
	var in importParams
	if err := aq.Decode(&in); err != nil {
		return nil, err
	}
	req, src, err := p.parseImport(r, in)
	if err != nil {
		return nil, err
	}
	if src.remote != nil {
		return p.importRemote(ctx, aq, req, src)
	}
	start := p.now().UTC()
	var opPath string
	var source meta.Registry
	var result transfer.ImportResult
	refused := false
	defer func() {
		p.recordImport(ctx, aq, importEvent{source: source, target: q.registryID().String(), image: req.Image, result: result,
			refused: refused, err: err, start: start})
	}()
	err = p.meta.Update(ctx, func(tx meta.Tx) error {
		refused = false
		targetID := q.registryID().String()
		target, targetDoc, err := loadRegistry(tx, q.sub, q.group, q.name)
		if err != nil {
			return err
		}
		row, sourceDoc, err := src.load(tx)
		if err != nil {
			return err
		}
		source = row
		if err := authorizeLinked(aq, tx, targetID, source.ResourceID); err != nil {
			return err
		}
		gateSource := egressSource(source, sourceDoc)
		gateSource.NamedByLoginServer = src.id == nil
		gateSource.Target = target.Key
		permit, err := egress.Check(gateSource, egress.ChannelImportSource)
		if err != nil {
			refused = true
			return asARM(err)
		}
		req.Source, req.Target, req.Now = source, target, start
		if result, err = transfer.Import(tx, permit, req); err != nil {
			return importError(err)
		}
		opPath, err = arm.RecordOperation(tx, q.sub, providerNamespace, deref(targetDoc.Location), start, p.now().UTC(), nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusAccepted, LocationOperation: opPath}, nil
}

// sourceRef is the source registry as the request names it.
type sourceRef struct {
	id   *arm.ID // by resourceId
	name string  // by registryUri, resolved to a local registry name
	as   string  // what the request said, for messages
	// remote is a registryUri outside the service, with credentials.
	remote             *remote.Source
	username, password string
}

// parseImport validates the body and names the source registry; the
// registries themselves are loaded later, in the transaction.
func (p *Provider) parseImport(r *http.Request, in importParams) (transfer.ImportRequest, sourceRef, error) {
	var req transfer.ImportRequest
	var src sourceRef
	bad := func(format string, args ...any) error {
		return errInvalidParameters(format, args...)
	}
	if in.Source == nil || in.Source.SourceImage == "" {
		return req, src, bad("source.sourceImage is required, for example 'hello-world:latest'.")
	}
	image := in.Source.SourceImage
	switch {
	case in.Source.ResourceID != "":
		id, err := arm.ParseID(in.Source.ResourceID)
		if err != nil {
			return req, src, err
		}
		if !strings.EqualFold(id.Provider, providerNamespace) || len(id.Types) != 1 || !strings.EqualFold(id.Types[0], "registries") || id.ResourceGroup == "" {
			return req, src, bad("source.resourceId '%s' is not a container registry id.", in.Source.ResourceID)
		}
		src = sourceRef{id: &id, as: in.Source.ResourceID}
	case in.Source.RegistryURI != "":
		src.as = in.Source.RegistryURI
		src.name, image = p.localSource(r, in.Source.RegistryURI, image)
		if src.name == "" {
			// Another server, as far as names tell: imported over the
			// network, where the data plane judges any road back here.
			rs, err := remote.ParseSource(in.Source.RegistryURI)
			if err != nil {
				return req, src, bad("%s.", strings.TrimSuffix(err.Error(), ": "+errdef.ErrInvalidArgument.Error()))
			}
			src.remote = &rs
			if c := in.Source.Credentials; c != nil {
				if c.Password == "" {
					return req, src, bad("source.credentials.password is required when source.credentials is given.")
				}
				src.username, src.password = c.Username, c.Password
			}
		}
	default:
		return req, src, bad("source needs a resourceId (a registry of this service) or a registryUri.")
	}
	img, err := transfer.ParseImage(image, true)
	if err != nil {
		return req, src, bad("source.sourceImage %s.", strings.TrimSuffix(err.Error(), ": "+errdef.ErrInvalidArgument.Error()))
	}
	req.Image = img
	for _, t := range in.TargetTags {
		tt, err := transfer.ParseImage(t, false)
		if err != nil || tt.Digest != "" {
			return req, src, bad("targetTags entry '%s' must be 'repository' or 'repository:tag'.", t)
		}
		if tt.Tag == "" {
			tt.Tag = img.Tag
			if tt.Tag == "" {
				tt.Tag = "latest"
			}
		}
		req.TargetTags = append(req.TargetTags, tt)
	}
	for _, repo := range in.UntaggedTargetRepositories {
		u, err := transfer.ParseImage(repo, false)
		if err != nil || u.Tag != "" || u.Digest != "" {
			return req, src, bad("untaggedTargetRepositories entry '%s' must be a repository name.", repo)
		}
		req.Untagged = append(req.Untagged, u.Repository)
	}
	switch strings.ToLower(in.Mode) {
	case "", "noforce":
	case "force":
		req.Force = true
	default:
		return req, src, bad("mode '%s' is not valid; use NoForce or Force.", in.Mode)
	}
	return req, src, nil
}

// load reads the source registry inside tx.
func (s sourceRef) load(tx meta.Tx) (meta.Registry, Registry, error) {
	notFound := fail("SourceRegistryNotFound", "The source registry '%s' was not found.", s.as)
	if s.id != nil {
		row, doc, err := loadRegistry(tx, s.id.Subscription, s.id.ResourceGroup, s.id.Names[0])
		if errors.Is(err, errdef.ErrNotFound) {
			return row, doc, notFound
		}
		return row, doc, err
	}
	row, err := tx.RegistryByName(s.name)
	if errors.Is(err, errdef.ErrNotFound) {
		return row, Registry{}, notFound
	}
	if err != nil {
		return row, Registry{}, err
	}
	var doc Registry
	if err := json.Unmarshal(row.Document, &doc); err != nil {
		return row, doc, fmt.Errorf("registry %s document: %w", row.Name, err)
	}
	return row, doc, nil
}

// localSource resolves a registryUri to a registry of this service and
// returns its name and the image within it, or "" when the uri names
// another server. Every name a local registry answers to is matched (host
// mode and path mode, any case, default ports, a trailing dot, a scheme),
// so no alias reaches around the egress gate; nothing here pulls from the
// network, so a uri that is not matched cannot move content either.
//
//	<name><suffix>[:port]                         host mode, image as given
//	<this host>[:port]/<name>                     path mode, image as given
//	<this host>[:port] with image <name>/<repo>   path mode, as az splits it
func (p *Provider) localSource(r *http.Request, uri, image string) (name, img string) {
	s := strings.ToLower(strings.TrimSpace(uri))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	s = strings.TrimSuffix(s, "/")
	hostport, path, _ := strings.Cut(s, "/")
	host := hostOnly(hostport)
	if p.suffix != "" && path == "" && strings.HasSuffix(host, p.suffix) {
		return strings.TrimSuffix(host, p.suffix), image
	}
	if !sameServer(host, portOf(hostport), r.Host) {
		return "", image
	}
	switch {
	case path != "" && !strings.Contains(path, "/"):
		return path, image
	case path == "":
		if reg, rest, ok := strings.Cut(image, "/"); ok {
			return strings.ToLower(reg), rest
		}
	}
	return "", image
}

// hostOnly strips the port, brackets and a trailing dot.
func hostOnly(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.Trim(h, "[]"), ".")
}

func portOf(hostport string) string {
	if _, port, err := net.SplitHostPort(hostport); err == nil {
		return port
	}
	return ""
}

// sameServer reports whether host:port names the server the request came
// to: the same host (or, for loopback, any loopback name) and the same
// port, where 443 and 80 count as no port.
func sameServer(host, port, requestHost string) bool {
	own := hostOnly(strings.ToLower(requestHost))
	if defaultPort(port) != defaultPort(portOf(requestHost)) {
		return false
	}
	return host == own || isLoopback(host) && isLoopback(own)
}

func defaultPort(p string) string {
	if p == "443" || p == "80" {
		return ""
	}
	return p
}

func isLoopback(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// authorizeLinked checks that the caller may read the source registry,
// with ARM's message for a linked scope.
func authorizeLinked(q *arm.Request, tx meta.Tx, targetID, sourceID string) error {
	err := q.Authorize(tx, sourceID, registryRead)
	if errors.Is(err, errdef.ErrDenied) {
		return errLinkedAuthorization(targetID, sourceID)
	}
	return err
}
