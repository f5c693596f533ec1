package credas

import (
	"bytes"
	"encoding/json"
	"slices"
)

// member is one top-level name/value pair of a JSON object.
type member struct {
	name []byte // unescaped
	val  []byte // the raw JSON value
}

// members appends the top-level members of obj to dst, sorted by name, with
// a repeated name keeping its last value (as encoding/json does). obj must
// already be known to be valid JSON (json.Valid or a json.RawMessage); it is
// walked once, so the work is linear in its size. ok is false when obj is
// not an object.
//
// Payload's field names are not known in advance (every "…VerificationResult"
// counts), and decoding them into a map[string]json.RawMessage costs three
// allocations per field; this costs none unless a name has escapes.
func members(obj []byte, dst []member) (_ []member, ok bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return dst, false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return dst, true
	}
	for i < len(obj) && obj[i] == '"' {
		end := stringEnd(obj, i)
		if end < 0 {
			return dst, false
		}
		name := obj[i+1 : end-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			var s string
			if json.Unmarshal(obj[i:end], &s) != nil {
				return dst, false
			}
			name = []byte(s)
		}
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return dst, false
		}
		i = skipSpace(obj, i+1)
		end = valueEnd(obj, i)
		if end <= i {
			return dst, false
		}
		dst = append(dst, member{name: name, val: obj[i:end]})
		i = skipSpace(obj, end)
		if i >= len(obj) {
			return dst, false
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			slices.SortStableFunc(dst, func(a, b member) int { return bytes.Compare(a.name, b.name) })
			// Keep the last of equal names: stable sort kept their order.
			out := dst[:0]
			for j := range dst {
				if j+1 < len(dst) && bytes.Equal(dst[j].name, dst[j+1].name) {
					continue
				}
				out = append(out, dst[j])
			}
			return out, true
		default:
			return dst, false
		}
	}
	return dst, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at b[i]
// (a quote), or -1 when it does not end.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// valueEnd returns the index just past the JSON value that starts at b[i],
// or -1 when it does not end.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				if j = stringEnd(b, j) - 1; j < 0 {
					return -1
				}
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' &&
		b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}
