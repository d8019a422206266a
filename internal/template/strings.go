package template

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

func fnToLower(_ *scope, a args) (any, error) {
	v, err := a.legacyStr(0)
	return strings.ToLower(v), err
}

func fnToUpper(_ *scope, a args) (any, error) {
	v, err := a.legacyStr(0)
	return strings.ToUpper(v), err
}

// replace(string, old, new) replaces every old.
func fnReplace(_ *scope, a args) (any, error) {
	str, err := a.legacyStr(0)
	if err != nil {
		return nil, err
	}
	old, err := a.legacyStr(1)
	if err != nil {
		return nil, err
	}
	repl, err := a.legacyStr(2)
	if err != nil {
		return nil, err
	}
	if err := fits(a.fn, len(str)+strings.Count(str, old)*(len(repl)-len(old))); err != nil {
		return nil, err
	}
	return strings.ReplaceAll(str, old, repl), nil
}

// substring(string, start, [length]) counts bytes.
func fnSubstring(_ *scope, a args) (any, error) {
	str, err := a.str(0)
	if err != nil {
		return nil, err
	}
	start, err := a.integer(1)
	if err != nil {
		return nil, err
	}
	n := len(str) - start
	if len(a.list) > 2 {
		if n, err = a.integer(2); err != nil {
			return nil, err
		}
	}
	if start < 0 || n < 0 || start > len(str) || n > len(str)-start {
		return nil, fmt.Errorf("substring(): start %d and length %d are outside a string of %d characters", start, n, len(str))
	}
	return str[start : start+n], nil
}

// split(string, delimiter or array of delimiters).
func fnSplit(s *scope, a args) (any, error) {
	str, err := a.str(0)
	if err != nil {
		return nil, err
	}
	var seps []string
	switch d := a.at(1).(type) {
	case string:
		seps = []string{d}
	case []any:
		for _, x := range d {
			sep, _ := x.(string)
			seps = append(seps, sep)
		}
	default:
		return nil, fmt.Errorf("split() delimiter must be a string or an array of strings")
	}
	parts := []string{str}
	for _, sep := range seps {
		if sep == "" {
			continue
		}
		if err := s.charge(len(str)); err != nil {
			return nil, err
		}
		// Each part costs its header and slot as well as its bytes.
		n := len(parts) + strings.Count(str, sep)
		if err := fits(a.fn, arrayCost+n*stringCost+len(str)); err != nil {
			return nil, err
		}
		var next []string
		for _, p := range parts {
			next = append(next, strings.Split(p, sep)...)
		}
		parts = next
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

func fnTrim(_ *scope, a args) (any, error) {
	str, err := a.str(0)
	return strings.TrimSpace(str), err
}

// padLeft(value, length, [character]) pads the value's text on the left.
func fnPadLeft(_ *scope, a args) (any, error) {
	str, err := text(a.fn, a.at(0))
	if err != nil {
		return nil, err
	}
	n, err := a.integer(1)
	if err != nil {
		return nil, err
	}
	pad := " "
	if len(a.list) > 2 {
		if pad, err = a.str(2); err != nil || len(pad) != 1 {
			return nil, fmt.Errorf("padLeft() padding must be one character")
		}
	}
	if n > 10000 {
		return nil, fmt.Errorf("padLeft() length %d is over 10000", n)
	}
	if len(str) < n {
		str = strings.Repeat(pad, n-len(str)) + str
	}
	return str, nil
}

// The four searches compare case-insensitively, as ARM's do.

func fnStartsWith(_ *scope, a args) (any, error) {
	str, sub, err := folded(a)
	return strings.HasPrefix(str, sub), err
}

func fnEndsWith(_ *scope, a args) (any, error) {
	str, sub, err := folded(a)
	return strings.HasSuffix(str, sub), err
}

func fnIndexOf(_ *scope, a args) (any, error) {
	str, sub, err := folded(a)
	return float64(strings.Index(str, sub)), err
}

func fnLastIndexOf(_ *scope, a args) (any, error) {
	str, sub, err := folded(a)
	return float64(strings.LastIndex(str, sub)), err
}

// folded reads a search's two string arguments, lower-cased.
func folded(a args) (str, sub string, err error) {
	if str, err = a.str(0); err != nil {
		return "", "", err
	}
	if sub, err = a.str(1); err != nil {
		return "", "", err
	}
	return strings.ToLower(str), strings.ToLower(sub), nil
}

func fnBase64(_ *scope, a args) (any, error) {
	str, err := a.str(0)
	if err != nil {
		return nil, err
	}
	if err := fits(a.fn, base64.StdEncoding.EncodedLen(len(str))); err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString([]byte(str)), nil
}

func fnBase64ToString(_ *scope, a args) (any, error) {
	str, err := a.str(0)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(str)
	if err != nil {
		return nil, fmt.Errorf("base64ToString(): %v", err)
	}
	return string(b), nil
}

func fnURIComponent(_ *scope, a args) (any, error) {
	str, err := a.str(0)
	if err != nil {
		return nil, err
	}
	if err := fits(a.fn, 3*len(str)); err != nil { // %XX for each byte at most
		return nil, err
	}
	return url.QueryEscape(str), nil
}

func fnURIComponentToString(_ *scope, a args) (any, error) {
	str, err := a.str(0)
	if err != nil {
		return nil, err
	}
	return url.QueryUnescape(str)
}

// uniqueString(parts...) is ARM's deterministic 13-character hash.
func fnUniqueString(_ *scope, a args) (any, error) {
	parts := make([]string, len(a.list))
	for i := range a.list {
		var err error
		if parts[i], err = a.legacyStr(i); err != nil {
			return nil, err
		}
	}
	if err := fits(a.fn, joined(parts)); err != nil {
		return nil, err
	}
	return uniqueString(parts...), nil
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

// guidNamespace seeds guid(): the same arguments give the same GUID in
// every deployment, as templates rely on for role assignment names.
var guidNamespace = uuid.MustParse("5e8a9b73-0e58-4b63-9a1c-6f5d2a3c8b41")

// guid(parts...) is a GUID derived from its arguments.
func fnGUID(_ *scope, a args) (any, error) {
	if len(a.list) == 0 {
		return nil, fmt.Errorf("guid() needs at least one argument")
	}
	parts, err := a.strs()
	if err != nil {
		return nil, err
	}
	if err := fits(a.fn, joined(parts)); err != nil {
		return nil, err
	}
	return uuid.NewSHA1(guidNamespace, []byte(strings.Join(parts, "-"))).String(), nil
}

func fnNewGUID(*scope, args) (any, error) { return uuid.NewString(), nil }

// utcNow([format]) takes the common .NET format tokens.
func fnUTCNow(_ *scope, a args) (any, error) {
	layout := "20060102T150405Z"
	if len(a.list) > 0 {
		f, err := a.str(0)
		if err != nil {
			return nil, err
		}
		layout = dotnetLayout(f)
	}
	return time.Now().UTC().Format(layout), nil
}

// dotnetLayout turns the common .NET date format tokens utcNow() accepts
// into a Go layout.
func dotnetLayout(f string) string {
	switch f {
	case "u":
		return "2006-01-02 15:04:05Z"
	case "d":
		return "1/2/2006"
	}
	r := strings.NewReplacer("yyyy", "2006", "MM", "01", "dd", "02", "HH", "15", "mm", "04", "ss", "05", "fff", "000")
	return r.Replace(f)
}

// joined is the length of parts joined by one-byte separators.
func joined(parts []string) int {
	n := len(parts)
	for _, p := range parts {
		n += len(p)
	}
	return n
}
