package deployments

import (
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"maps"
	"strconv"
	"strings"
)

// scope is what template expressions can see.
type scope struct {
	params     map[string]any
	variables  map[string]any
	varExprs   map[string]any // unevaluated, for lazy evaluation
	evaluating map[string]bool
	sub, rg    string
	location   string
	tenant     string
	deployment string
	// loops holds the copy-loop indices in effect: "" is the resource's
	// own loop, other keys are lower-cased loop names.
	loops map[string]int
	// declared maps the names of the template's resources (lower-cased)
	// to their ids, for reference('name').
	declared map[string]string
	// reference and list reach the management plane; nil where the
	// template may not use them yet (validation, names, dependsOn).
	reference func(id, apiVersion string, full bool) (any, error)
	list      func(action, id, apiVersion string, body any) (any, error)
}

// evalValue evaluates every "[...]" string inside v.
func (s *scope) evalValue(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return s.evalString(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := s.evalValue(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		if c, ok := x["copy"].([]any); ok {
			if err := s.propertyCopies(c, out); err != nil {
				return nil, fmt.Errorf("copy: %w", err)
			}
		}
		for k, e := range x {
			if _, isCopy := out[k]; isCopy || k == "copy" {
				continue
			}
			r, err := s.evalValue(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// propertyCopies expands a property copy element, [{name, count, input}],
// into out: each name becomes an array of count evaluated inputs, with
// copyIndex('name') giving the position.
func (s *scope) propertyCopies(specs []any, out map[string]any) error {
	for i, sp := range specs {
		spec, ok := sp.(map[string]any)
		if !ok {
			return fmt.Errorf("[%d] must be an object with name, count and input", i)
		}
		nameRaw, _ := lookupFold(spec, "name")
		name, ok := nameRaw.(string)
		if !ok || name == "" {
			return fmt.Errorf("[%d] needs a name", i)
		}
		countRaw, _ := lookupFold(spec, "count")
		cv, err := s.evalValue(countRaw)
		if err != nil {
			return fmt.Errorf("[%d].count: %w", i, err)
		}
		count, ok := cv.(float64)
		if !ok || count < 0 || count > maxCopy || count != float64(int(count)) {
			return fmt.Errorf("[%d].count must be an integer from 0 to %d, got %v", i, maxCopy, cv)
		}
		input, ok := lookupFold(spec, "input")
		if !ok {
			return fmt.Errorf("[%d] needs an input", i)
		}
		loop := strings.ToLower(name)
		saved, had := s.loops[loop]
		if s.loops == nil {
			s.loops = map[string]int{}
		} else {
			s.loops = maps.Clone(s.loops)
		}
		items := make([]any, int(count))
		for j := range items {
			s.loops[loop] = j
			if items[j], err = s.evalValue(input); err != nil {
				return fmt.Errorf("%s[%d]: %w", name, j, err)
			}
		}
		if had {
			s.loops[loop] = saved
		} else {
			delete(s.loops, loop)
		}
		out[name] = items
	}
	return nil
}

// evalString evaluates a template expression string; "[[" escapes a
// literal bracket.
func (s *scope) evalString(str string) (any, error) {
	if !strings.HasPrefix(str, "[") || !strings.HasSuffix(str, "]") {
		return str, nil
	}
	if strings.HasPrefix(str, "[[") {
		return str[1:], nil
	}
	p := &parser{src: str[1 : len(str)-1], s: s}
	v, err := p.expr()
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", str, err)
	}
	p.space()
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("expression %q: unexpected %q at offset %d", str, p.src[p.pos:], p.pos)
	}
	return v, nil
}

type parser struct {
	src string
	pos int
	s   *scope
}

func (p *parser) space() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n') {
		p.pos++
	}
}

func (p *parser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

// expr parses a primary expression followed by .property and [index]
// accessors.
func (p *parser) expr() (any, error) {
	p.space()
	v, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		p.space()
		switch p.peek() {
		case '.':
			p.pos++
			name := p.ident()
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("property %q of a non-object", name)
			}
			v, ok = lookupFold(m, name)
			if !ok {
				return nil, fmt.Errorf("the object has no property %q", name)
			}
		case '[':
			p.pos++
			idx, err := p.expr()
			if err != nil {
				return nil, err
			}
			p.space()
			if p.peek() != ']' {
				return nil, fmt.Errorf("missing ]")
			}
			p.pos++
			switch c := v.(type) {
			case []any:
				i, ok := toInt(idx)
				if !ok || i < 0 || i >= len(c) {
					return nil, fmt.Errorf("index %v out of range", idx)
				}
				v = c[i]
			case map[string]any:
				k, _ := idx.(string)
				var ok bool
				if v, ok = lookupFold(c, k); !ok {
					return nil, fmt.Errorf("the object has no property %q", k)
				}
			default:
				return nil, fmt.Errorf("cannot index %T", v)
			}
		default:
			return v, nil
		}
	}
}

func (p *parser) ident() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			p.pos++
			continue
		}
		break
	}
	return p.src[start:p.pos]
}

func (p *parser) primary() (any, error) {
	c := p.peek()
	switch {
	case c == '\'':
		p.pos++
		var b strings.Builder
		for {
			if p.pos >= len(p.src) {
				return nil, fmt.Errorf("unterminated string")
			}
			ch := p.src[p.pos]
			p.pos++
			if ch == '\'' {
				if p.peek() == '\'' {
					b.WriteByte('\'')
					p.pos++
					continue
				}
				return b.String(), nil
			}
			b.WriteByte(ch)
		}
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		p.pos++
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		n, err := strconv.ParseInt(p.src[start:p.pos], 10, 64)
		return float64(n), err
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		name := p.ident()
		p.space()
		if p.peek() != '(' {
			return nil, fmt.Errorf("expected ( after %s", name)
		}
		p.pos++
		var args []any
		p.space()
		if p.peek() == ')' {
			p.pos++
		} else {
			for {
				a, err := p.expr()
				if err != nil {
					return nil, err
				}
				args = append(args, a)
				p.space()
				if p.peek() == ',' {
					p.pos++
					continue
				}
				if p.peek() == ')' {
					p.pos++
					break
				}
				return nil, fmt.Errorf("expected , or ) in %s()", name)
			}
		}
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "list") && len(lower) > 4 {
			return p.s.listCall(name, args)
		}
		return p.s.call(lower, args)
	}
	return nil, fmt.Errorf("unexpected %q", string(c))
}

func lookupFold(m map[string]any, k string) (any, bool) {
	if v, ok := m[k]; ok {
		return v, true
	}
	for mk, v := range m {
		if strings.EqualFold(mk, k) {
			return v, true
		}
	}
	return nil, false
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		return int(n), true
	case int:
		return n, true
	}
	return 0, false
}

// uniqueString is ARM's deterministic 13-character base-32 hash.
func uniqueString(parts ...string) string {
	sum := sha512.Sum512([]byte(strings.Join(parts, "-")))
	n := binary.BigEndian.Uint64(sum[:8])
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var b [13]byte
	for i := range b {
		b[i] = alphabet[n&31]
		n >>= 5
	}
	return string(b[:])
}
