package client

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/jmespath/go-jmespath"
)

// printer writes results in az's output formats after an optional
// JMESPath --query.
type printer struct {
	format string // json, jsonc, table, tsv, none
	query  string
	out    io.Writer
}

func (p printer) print(v any) error {
	if p.query != "" {
		q, err := jmespath.Compile(p.query)
		if err != nil {
			return fmt.Errorf("argument --query: invalid jmespath query supplied for '--query': %v", err)
		}
		if v, err = q.Search(v); err != nil {
			return err
		}
	}
	switch p.format {
	case "none":
		return nil
	case "json", "jsonc", "":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(p.out, string(b))
		return err
	case "tsv":
		for _, row := range rows(v) {
			var cells []string
			for _, c := range row {
				cells = append(cells, scalar(c))
			}
			fmt.Fprintln(p.out, strings.Join(cells, "\t"))
		}
		return nil
	case "table":
		return p.table(v)
	}
	return fmt.Errorf("argument --output/-o: invalid choice: '%s' (choose from 'json', 'jsonc', 'none', 'table', 'tsv')", p.format)
}

// rows flattens a value to rows of scalar cells (az's tsv rules: objects
// contribute their scalar values in key order).
func rows(v any) [][]any {
	switch x := v.(type) {
	case []any:
		var out [][]any
		for _, e := range x {
			out = append(out, rowOf(e))
		}
		return out
	}
	return [][]any{rowOf(v)}
}

func rowOf(v any) []any {
	m, ok := v.(map[string]any)
	if !ok {
		return []any{v}
	}
	var keys []string
	for k, val := range m {
		if isScalar(val) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	row := make([]any, len(keys))
	for i, k := range keys {
		row[i] = m[k]
	}
	return row
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprint(int64(x))
		}
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}

// table prints scalar columns, headers in az's Title Case.
func (p printer) table(v any) error {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	var cols []string
	seen := map[string]bool{}
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			for k, val := range m {
				if isScalar(val) && !seen[k] {
					seen[k] = true
					cols = append(cols, k)
				}
			}
		}
	}
	sort.Strings(cols)
	if len(cols) == 0 {
		for _, it := range items {
			fmt.Fprintln(p.out, scalar(it))
		}
		return nil
	}
	width := make([]int, len(cols))
	cells := make([][]string, len(items))
	for i, c := range cols {
		width[i] = len(c)
	}
	for r, it := range items {
		m, _ := it.(map[string]any)
		for i, c := range cols {
			s := scalar(m[c])
			cells[r] = append(cells[r], s)
			width[i] = max(width[i], len(s))
		}
	}
	line := func(vals []string) {
		var parts []string
		for i, s := range vals {
			parts = append(parts, s+strings.Repeat(" ", width[i]-len(s)))
		}
		fmt.Fprintln(p.out, strings.TrimRight(strings.Join(parts, "  "), " "))
	}
	heads := make([]string, len(cols))
	dashes := make([]string, len(cols))
	for i, c := range cols {
		heads[i] = strings.ToUpper(c[:1]) + c[1:]
		dashes[i] = strings.Repeat("-", width[i])
	}
	line(heads)
	line(dashes)
	for _, r := range cells {
		line(r)
	}
	return nil
}
