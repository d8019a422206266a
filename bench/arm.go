package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// benchARM measures management-plane GET and paged LIST latency with many
// registries (issue 4's target: list p99 < 50 ms with paging). There is no
// ARM peer to run beside it, so it reports absolute figures.
func benchARM(ctx context.Context, bh *target, o options) error {
	n := o.armRegistries
	sub := "/subscriptions/" + bh.sub
	groups := 10
	for g := range groups {
		if err := bh.call(ctx, http.MethodPut, fmt.Sprintf("%s/resourceGroups/armbench%d?api-version=2024-03-01", sub, g), bh.arm, []byte(`{"location":"westus"}`), nil); err != nil {
			return err
		}
	}
	progress("creating %d registries", n)
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				path := fmt.Sprintf("%s/resourceGroups/armbench%d/providers/Microsoft.ContainerRegistry/registries/armreg%06d?api-version=2025-11-01", sub, i%groups, i)
				if err := bh.call(ctx, http.MethodPut, path, bh.arm, []byte(`{"location":"westus","sku":{"name":"Basic"}}`), nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	created := time.Since(start)

	measure := func(label string, count int, path func(i int) string) (result, error) {
		lat := make([]time.Duration, 0, count)
		for i := range count {
			t0 := time.Now()
			if err := bh.call(ctx, http.MethodGet, path(i), bh.arm, nil, nil); err != nil {
				return result{}, fmt.Errorf("%s: %w", label, err)
			}
			lat = append(lat, time.Since(t0))
		}
		return summarize(label, lat), nil
	}
	get, err := measure("GET registry", 2000, func(int) string {
		i := rand.IntN(n)
		return fmt.Sprintf("%s/resourceGroups/armbench%d/providers/Microsoft.ContainerRegistry/registries/armreg%06d?api-version=2025-11-01", sub, i%groups, i)
	})
	if err != nil {
		return err
	}
	// Walk every page of the subscription list by following nextLink.
	var pages []time.Duration
	total := 0
	for round := 0; round < 3; round++ {
		link := bh.url(sub + "/providers/Microsoft.ContainerRegistry/registries?api-version=2025-11-01")
		for link != "" {
			u, _ := url.Parse(link)
			var page struct {
				Value    []json.RawMessage
				NextLink string
			}
			t0 := time.Now()
			if err := bh.call(ctx, http.MethodGet, u.RequestURI(), bh.arm, nil, &page); err != nil {
				return err
			}
			pages = append(pages, time.Since(t0))
			total += len(page.Value)
			link = page.NextLink
		}
	}
	list := summarize("LIST registries (subscription, one page)", pages)
	rgList, err := measure("LIST registries (resource group, first page)", 300, func(i int) string {
		return fmt.Sprintf("%s/resourceGroups/armbench%d/providers/Microsoft.ContainerRegistry/registries?api-version=2025-11-01", sub, i%groups)
	})
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## ARM GET and LIST with %d registries\n\n", n)
	fmt.Fprintf(&b, "Created %d registries in %d resource groups in %s (%.0f PUT/s, 8 clients). Subscription list: %d registries seen per walk, 100 per page.\n\n",
		n, groups, created.Round(time.Millisecond), float64(n)/created.Seconds(), total/3)
	fmt.Fprintln(&b, "| Request | n | p50 ms | p99 ms | max ms | Target |")
	fmt.Fprintln(&b, "|---|--:|--:|--:|--:|---|")
	for _, r := range []result{get, list, rgList} {
		verdict := ""
		if strings.HasPrefix(r.label, "LIST") {
			verdict = "p99 < 50 ms: " + map[bool]string{true: "PASS", false: "MISS"}[r.p99 < 50*time.Millisecond]
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f | %.2f | %.2f | %s |\n", r.label, r.n, ms(r.p50), ms(r.p99), ms(r.max), verdict)
	}
	fmt.Print(b.String())
	if o.out != "" {
		return os.WriteFile(o.out, []byte(b.String()), 0o644)
	}
	return nil
}

type result struct {
	label         string
	n             int
	p50, p99, max time.Duration
}

func summarize(label string, lat []time.Duration) result {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pick := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	return result{label: label, n: len(lat), p50: pick(0.50), p99: pick(0.99), max: lat[len(lat)-1]}
}
