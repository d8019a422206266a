package template

import (
	"fmt"
	"strconv"
	"strings"
)

// evalString evaluates a template expression string; "[[" escapes a
// literal bracket.
func (s *scope) evalString(str string) (any, error) {
	if !strings.HasPrefix(str, "[") || !strings.HasSuffix(str, "]") {
		return str, nil
	}
	if strings.HasPrefix(str, "[[") {
		return str[1:], nil
	}
	if len(str) > maxExpression {
		return nil, fmt.Errorf("an expression of %d bytes is over the limit of %d: %w", len(str), maxExpression, errBudget)
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
// accessors.
func (p *parser) expr() (any, error) {
	if p.depth++; p.depth > maxDepth {
		return nil, fmt.Errorf("calls and indexes nest more than %d deep: %w", maxDepth, errBudget)
	}
	defer func() { p.depth-- }()
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
			if v, err = property(v, p.ident()); err != nil {
				return nil, err
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
			if v, err = index(v, idx); err != nil {
				return nil, err
			}
		default:
			return v, nil
		}
	}
}

// property is v.name.
func property(v any, name string) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("property %q of a non-object", name)
	}
	if v, ok = lookupFold(m, name); !ok {
		return nil, fmt.Errorf("the object has no property %q", name)
	}
	return v, nil
}

// index is v[idx]: an array element or an object property.
func index(v, idx any) (any, error) {
	switch c := v.(type) {
	case []any:
		i, ok := toInt(idx)
		if !ok || i < 0 || i >= len(c) {
			return nil, fmt.Errorf("index %v out of range", idx)
		}
		return c[i], nil
	case map[string]any:
		k, _ := idx.(string)
		v, ok := lookupFold(c, k)
		if !ok {
			return nil, fmt.Errorf("the object has no property %q", k)
		}
		return v, nil
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
func (p *parser) primary() (any, error) {
	c := p.peek()
	switch {
	case c == '\'':
		p.pos++
		return p.quoted()
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
		list, err := p.arguments(name)
		if err != nil {
			return nil, err
		}
		return p.s.call(name, list)
	}
	return nil, fmt.Errorf("unexpected %q", string(c))
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

// arguments reads a call's arguments, after its opening parenthesis.
func (p *parser) arguments(name string) ([]any, error) {
	var list []any
	p.space()
	if p.peek() == ')' {
		p.pos++
		return list, nil
	}
	for {
		a, err := p.expr()
		if err != nil {
			return nil, err
		}
		list = append(list, a)
		p.space()
		switch p.peek() {
		case ',':
			p.pos++
			continue
		case ')':
			p.pos++
			return list, nil
		}
		return nil, fmt.Errorf("expected , or ) in %s()", name)
	}
}
