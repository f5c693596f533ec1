package idwise

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/idvbus/idvbus/internal/vendors/report"
)

// kind is the JSON type of a [value].
type kind uint8

const (
	absent  kind = iota // not in the body
	null                // JSON null
	text                // a string
	integer             // a number without fraction or exponent
	other               // any other number, a boolean, an object or an array
)

// value is one body field of any JSON type, kept as the text idwise needs:
// a string's contents or an integer's digits. Decoding into it costs one
// allocation for a string or integer and none otherwise, where a
// json.RawMessage costs a copy and then a conversion.
type value struct {
	s string
	k kind
}

// UnmarshalJSON records b's type and text. b is valid JSON (the decoder
// checked the whole body first) and is not retained.
func (v *value) UnmarshalJSON(b []byte) error {
	*v = value{k: other}
	switch {
	case len(b) == 0:
	case string(b) == "null":
		v.k = null
	case b[0] == '"':
		if bytes.IndexByte(b, '\\') < 0 {
			// No escapes: the bytes between the quotes are the string.
			v.s = string(b[1 : len(b)-1])
		} else if err := json.Unmarshal(b, &v.s); err != nil {
			return err
		}
		v.k = text
	case b[0] == '-' || '0' <= b[0] && b[0] <= '9':
		if !bytes.ContainsAny(b, ".eE") {
			v.s, v.k = string(b), integer
		}
	}
	return nil
}

// present reports whether the field is in the body and not null.
func (v value) present() bool { return v.k != absent && v.k != null }

// str returns v when it is a string.
func (v value) str() (string, bool) { return v.s, v.k == text }

// optionalID reads an optional id (a string or an integer): "" and ok when
// absent, null or an empty string; "" and not ok when present but not a
// valid id.
func (v value) optionalID() (string, bool) {
	switch {
	case !v.present() || v.k == text && v.s == "":
		return "", true
	case v.k == other || !report.ValidID(v.s):
		return "", false
	}
	return v.s, true
}

// requiredID reads a mandatory id (a string or an integer) of the named
// field.
func (v value) requiredID(field string) (string, error) {
	if !v.present() {
		return "", fmt.Errorf("%w: %s missing", report.ErrInvalid, field)
	}
	id, ok := v.optionalID()
	if !ok || id == "" {
		return "", fmt.Errorf("%w: %s is not a valid id", report.ErrInvalid, field)
	}
	return id, nil
}

// word reads a vendor word: absent for a missing, null or blank value;
// present with an empty s for a value that is not a string.
func (v value) word() word {
	switch v.k {
	case absent, null:
		return word{}
	case text:
		s := strings.TrimSpace(v.s)
		return word{s: s, present: s != ""}
	}
	return word{present: true}
}

// firstString returns the first of vs that is a non-blank string usable as
// a name (see [report.ValidID]), trimmed; "" when none is.
func firstString(vs ...value) string {
	for _, v := range vs {
		if s, ok := v.str(); ok {
			if s = strings.TrimSpace(s); report.ValidID(s) {
				return s
			}
		}
	}
	return ""
}
