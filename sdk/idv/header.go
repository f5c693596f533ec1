package idv

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// EncodeHeaderValue percent-encodes an attribute value for a ce-* header, as
// the CloudEvents HTTP binding (section 3.1.3.2) and the NATS binding that
// follows it require: the UTF-8 bytes of space, double quote, percent and
// every character outside printable ASCII (U+0021 to U+007E) become %XX
// (upper-case hex); nothing else is encoded. A value without such a
// character is returned unchanged.
func EncodeHeaderValue(s string) string {
	i := 0
	for i < len(s) && !mustEscape(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if mustEscape(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func mustEscape(c byte) bool { return c <= ' ' || c == '"' || c == '%' || c > '~' }

// Errors of [DecodeHeaderValue].
var (
	errQuote   = errors.New("unterminated quoted string")
	errPercent = errors.New("% not followed by two hex digits")
	errUTF8    = errors.New("not UTF-8 once percent-decoded")
)

// DecodeHeaderValue reads a ce-* header value as the CloudEvents HTTP binding
// (section 3.1.3.2) says: first RFC 7230 quoted strings are unquoted (older
// producers wrote some values that way), then one round of percent-decoding
// is done, and the result must be valid UTF-8. A "%" not followed by two hex
// digits is an error, not kept as it is: it is not what any conforming
// producer writes.
func DecodeHeaderValue(v string) (string, error) {
	if !strings.ContainsAny(v, `"%`) {
		if !utf8.ValidString(v) {
			return "", errUTF8
		}
		return v, nil
	}
	unq, err := unquote(v)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(unq))
	for i := 0; i < len(unq); i++ {
		c := unq[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(unq) {
			return "", errPercent
		}
		hi, ok1 := unhex(unq[i+1])
		lo, ok2 := unhex(unq[i+2])
		if !ok1 || !ok2 {
			return "", errPercent
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	out := b.String()
	if !utf8.ValidString(out) {
		return "", errUTF8
	}
	return out, nil
}

// unquote removes the double quotes of RFC 7230 quoted strings in v and
// resolves their backslash escapes; the rest of v is kept as it is.
func unquote(v string) (string, error) {
	if !strings.Contains(v, `"`) {
		return v, nil
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case !quoted && c == '"':
			quoted = true
		case quoted && c == '"':
			quoted = false
		case quoted && c == '\\':
			if i+1 == len(v) {
				return "", errQuote
			}
			i++
			b.WriteByte(v[i])
		default:
			b.WriteByte(c)
		}
	}
	if quoted {
		return "", errQuote
	}
	return b.String(), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
