// Package jsonid reads event ids out of vendor JSON bodies.
package jsonid

import (
	"bytes"
	"encoding/json"
)

// String returns a JSON string or integer value as a string id; ok=false for
// null, empty strings, objects, arrays, booleans and malformed input.
func String(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			return "", false
		}
		return s, true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return "", false
		}
		if _, err := n.Int64(); err != nil {
			return "", false
		}
		return n.String(), true
	}
	return "", false
}
