package template

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// NormalizeJSONC turns what az sends into JSON: it removes // and /* */
// comments and trailing commas, and quotes bare object keys (az splices
// the template file verbatim after an unquoted `template:` key).
func NormalizeJSONC(in []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(in))
	inString := false
	expectKey := false
	for i := 0; i < len(in); i++ {
		c := in[i]
		if inString {
			out.WriteByte(c)
			if c == '\\' && i+1 < len(in) {
				i++
				out.WriteByte(in[i])
			} else if c == '"' {
				inString = false
			}
			continue
		}
		switch {
		case c == '"':
			inString, expectKey = true, false
			out.WriteByte(c)
		case c == '/' && i+1 < len(in) && in[i+1] == '/':
			for i < len(in) && in[i] != '\n' {
				i++
			}
			out.WriteByte('\n')
		case c == '/' && i+1 < len(in) && in[i+1] == '*':
			i += 2
			for i+1 < len(in) && !(in[i] == '*' && in[i+1] == '/') {
				i++
			}
			i++
			out.WriteByte(' ')
		case c == ',':
			// Drop a trailing comma before } or ].
			j := i + 1
			for j < len(in) && (in[j] == ' ' || in[j] == '\t' || in[j] == '\n' || in[j] == '\r') {
				j++
			}
			if j < len(in) && (in[j] == '}' || in[j] == ']') {
				continue
			}
			out.WriteByte(c)
			expectKey = true
		case c == '{':
			out.WriteByte(c)
			expectKey = true
		case expectKey && (c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'):
			j := i
			for j < len(in) && (in[j] == '_' || in[j] == '$' || in[j] >= 'a' && in[j] <= 'z' || in[j] >= 'A' && in[j] <= 'Z' || in[j] >= '0' && in[j] <= '9') {
				j++
			}
			k := j
			for k < len(in) && (in[k] == ' ' || in[k] == '\t') {
				k++
			}
			if k < len(in) && in[k] == ':' {
				out.WriteByte('"')
				out.Write(in[i:j])
				out.WriteByte('"')
			} else {
				out.Write(in[i:j])
			}
			i = j - 1
			expectKey = false
		default:
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				expectKey = false
			}
			out.WriteByte(c)
		}
	}
	return out.Bytes()
}

// Decode reads a request that carries a template and its parameters: it
// normalises JSONC (see NormalizeJSONC) and decodes it into v. It first
// weighs the text, so that a body of a few MB cannot decode into hundreds
// of MB of small objects: past the budget the error wraps
// errdef.ErrTooLarge, and nothing is decoded. Other errors are the
// decoder's.
func Decode(text []byte, v any) error {
	norm := NormalizeJSONC(text)
	if n := weigh(norm); n > maxRequest {
		return fmt.Errorf("the template and its parameters would take about %d bytes once decoded, over the limit of %d: %w", n, maxRequest, errTooLarge)
	}
	return json.Unmarshal(norm, v)
}
