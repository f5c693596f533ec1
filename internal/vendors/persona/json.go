package persona

import (
	"encoding/json"
	"unicode/utf8"
)

// optString decodes a value that should be a string but is read tolerantly:
// set is true for a JSON string, other for any non-null value of another
// type; null and absence leave both false.
type optString struct {
	s          string
	set, other bool
}

// UnmarshalJSON never fails, so a wrong-typed status does not make the whole
// body invalid; the caller decides what other means.
func (o *optString) UnmarshalJSON(b []byte) error {
	*o = optString{}
	switch {
	case len(b) == 0 || string(b) == "null":
	case b[0] != '"':
		o.other = true
	default:
		// The decoder has validated b as a JSON string, so without escapes
		// (and with valid UTF-8, which the decoder would otherwise replace)
		// its content is the value.
		in := b[1 : len(b)-1]
		if !hasByte(in, '\\') && utf8.Valid(in) {
			o.s, o.set = string(in), true
			return nil
		}
		if json.Unmarshal(b, &o.s) != nil {
			o.other = true
			return nil
		}
		o.set = true
	}
	return nil
}

func hasByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// isToken reports whether s matches ^[a-z_-]{1,40}$: the shape of Persona's
// status words. Only such values are echoed (in VendorStatus, VendorResult or
// Unmapped); anything else is treated as free text and never repeated.
func isToken(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// fieldName returns f, the dotted path of a wrongly-typed field as the
// decoder reports it (built from the struct's JSON names), if it looks like
// one; an empty or odd path is replaced so no body text can reach a message.
func fieldName(f string) string {
	if f == "" || len(f) > 100 {
		return "a field"
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' && c != '-' && c != '_' {
			return "a field"
		}
	}
	return f
}
