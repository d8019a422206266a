package template

import (
	"fmt"
	"strconv"
	"strings"
)

// evalString evaluates a template expression string; "[[" escapes a
// literal bracket.
func (s *scope) evalString(str string) (any, error) {
	v, _, err := s.evalStringSized(str)
	return v, err
}

// evalStringSized is evalString with the result's cost.
func (s *scope) evalStringSized(str string) (any, int, error) {
	if !strings.HasPrefix(str, "[") || !strings.HasSuffix(str, "]") || strings.HasPrefix(str, "[[") {
		if strings.HasPrefix(str, "[[") && strings.HasSuffix(str, "]") {
			str = str[1:]
		}
		c := strCost(str)
		return str, c, s.charge(c)
	}
	if len(str) > maxExpression {
		return nil, 0, fmt.Errorf("the template expression of %d characters exceeds the limit of %d: %w", len(str), maxExpression, errBudget)
	}
	p := &parser{src: str[1 : len(str)-1], s: s}
	v, c, err := p.expr()
	if err != nil {
		return nil, 0, fmt.Errorf("expression %q: %w", brief(str), err)
	}
	p.space()
	if p.pos != len(p.src) {
		return nil, 0, fmt.Errorf("expression %q: unexpected %q at offset %d", brief(str), brief(p.src[p.pos:]), p.pos)
	}
	return v, c, nil
}

// parser evaluates an expression as it reads it: ARM expressions have no
// operators, only literals, calls and accessors.
type parser struct {
	src   string
	pos   int
	depth int // expressions being read, one inside another
	s     *scope
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
// accessors, and returns its value with its cost.
func (p *parser) expr() (any, int, error) {
	if p.depth++; p.depth > maxDepth {
		return nil, 0, fmt.Errorf("calls and indexes nest more than %d deep: %w", maxDepth, errBudget)
	}
	defer func() { p.depth-- }()
	p.space()
	v, c, err := p.primary()
	if err != nil {
		return nil, 0, err
	}
	for {
		p.space()
		switch p.peek() {
		case '.':
			p.pos++
			if v, err = p.s.property(v, p.ident()); err != nil {
				return nil, 0, err
			}
		case '[':
			p.pos++
			if v, err = p.index(v, c); err != nil {
				return nil, 0, err
			}
		default:
			return v, c, nil
		}
		// The part read is measured again: it may be all of v, or little.
		c = measure(v, maxLive+1)
		if err := p.s.charge(c); err != nil {
			return nil, 0, err
		}
	}
}

// index reads an [index] accessor's expression and its closing bracket,
// and applies it to v (of cost c), held meanwhile.
func (p *parser) index(v any, c int) (any, error) {
	defer p.s.restore(p.s.live)
	if err := p.s.hold(c); err != nil {
		return nil, err
	}
	idx, _, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.peek() != ']' {
		return nil, fmt.Errorf("missing ]")
	}
	p.pos++
	return p.s.index(v, idx)
}

// property is v.name.
func (s *scope) property(v any, name string) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("property %q of a non-object", name)
	}
	v, ok, err := s.field(m, name)
	if err == nil && !ok {
		err = fmt.Errorf("the object has no property %q", name)
	}
	return v, err
}

// index is v[idx]: an array element or an object property.
func (s *scope) index(v, idx any) (any, error) {
	switch c := v.(type) {
	case []any:
		i, ok := toInt(idx)
		if !ok || i < 0 || i >= len(c) {
			return nil, fmt.Errorf("index %s out of range", brief(idx))
		}
		return c[i], nil
	case map[string]any:
		k, _ := idx.(string)
		v, ok, err := s.field(c, k)
		if err == nil && !ok {
			err = fmt.Errorf("the object has no property %q", brief(k))
		}
		return v, err
	}
	return nil, fmt.Errorf("cannot index %T", v)
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

// primary parses a 'string' (in which a doubled quote stands for one),
// an integer, or a call.
func (p *parser) primary() (any, int, error) {
	c := p.peek()
	switch {
	case c == '\'':
		p.pos++
		str, err := p.quoted()
		return str, strCost(str), err
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		p.pos++
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		n, err := strconv.ParseInt(p.src[start:p.pos], 10, 64)
		return float64(n), scalarCost, err
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		name := p.ident()
		p.space()
		if p.peek() != '(' {
			return nil, 0, fmt.Errorf("expected ( after %s", name)
		}
		p.pos++
		defer p.s.restore(p.s.live) // the arguments are let go once called
		list, costs, err := p.arguments(name)
		if err != nil {
			return nil, 0, err
		}
		return p.s.call(name, list, costs)
	}
	return nil, 0, fmt.Errorf("unexpected %q", string(c))
}

// quoted reads the rest of a string literal, after its opening quote.
func (p *parser) quoted() (string, error) {
	var b strings.Builder
	for {
		if p.pos >= len(p.src) {
			return "", fmt.Errorf("unterminated string")
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
}

// arguments reads a call's arguments, after its opening parenthesis,
// with their costs; each is held until the call.
func (p *parser) arguments(name string) ([]any, []int, error) {
	var list []any
	var costs []int
	p.space()
	if p.peek() == ')' {
		p.pos++
		return list, costs, nil
	}
	for {
		a, c, err := p.expr()
		if err == nil {
			err = p.s.hold(c)
		}
		if err != nil {
			return nil, nil, err
		}
		list, costs = append(list, a), append(costs, c)
		p.space()
		switch p.peek() {
		case ',':
			p.pos++
			continue
		case ')':
			p.pos++
			return list, costs, nil
		}
		return nil, nil, fmt.Errorf("expected , or ) in %s()", name)
	}
}
