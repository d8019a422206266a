package acr

import (
	"context"

	"github.com/bulkhead-registry/bulkhead/internal/arm"
)

// previewRegistry is the registry PUT's Route.Preview, which a what-if
// asks for the registry a template would leave behind. It is putRegistry
// itself, run on a store whose transactions always roll back
// (arm.PreviewStore): the answer holds exactly what the PUT would write
// (defaults, read-only properties, the sticky lock) or the error it would
// give (the egress rules, SKU changes), from the same code, and nothing is
// written. That holds because putRegistry's only effect is its one
// transaction; preview_test.go checks that it stays so.
func (p *Provider) previewRegistry(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	dry := *p
	dry.meta = arm.PreviewStore(p.meta)
	return dry.putRegistry(ctx, req)
}
