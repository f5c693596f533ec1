package credas

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzMembers: on any valid JSON, members agrees with encoding/json's
// decoding into a map (last value of a repeated name wins), and it never
// panics on invalid input.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { "a" : 1 , "b":[1,{"c":"}"}], "a":"x\"y" } `, `{"\u0041":true,"A":null}`,
		`{"a":{"b":{"c":[[]]}},"z":-1.5e3}`, `[]`, `"s"`, `{"a":1`, `{"a"}`, `{"\\":"\\"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		got, ok := members(obj, nil)
		if !json.Valid(obj) || !utf8.Valid(obj) {
			return // only must not panic
		}
		var want map[string]json.RawMessage
		err := json.Unmarshal(obj, &want)
		if (err == nil && want != nil) != ok {
			t.Fatalf("ok = %v, encoding/json err = %v, map nil = %v", ok, err, want == nil)
		}
		if !ok {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%d members, encoding/json has %d", len(got), len(want))
		}
		if !slices.IsSortedFunc(got, func(a, b member) int { return bytes.Compare(a.name, b.name) }) {
			t.Fatal("not sorted")
		}
		for _, m := range got {
			if w, ok := want[string(m.name)]; !ok || !bytes.Equal(w, m.val) {
				t.Fatalf("member %q = %s, encoding/json has %s (present %v)", m.name, m.val, w, ok)
			}
		}
	})
}
