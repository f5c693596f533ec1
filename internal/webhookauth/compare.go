package webhookauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// digestSet holds the SHA-256 digests of the accepted static credentials
// (passwords, tokens, header values). Comparing fixed-size digests instead of
// the values themselves keeps the comparison constant-time even though the
// values have different lengths: neither a secret's length nor its content
// leaks through timing.
type digestSet [][sha256.Size]byte

func newDigestSet(values []string) digestSet {
	s := make(digestSet, len(values))
	for i, v := range values {
		s[i] = sha256.Sum256([]byte(v))
	}
	return s
}

// match reports whether v equals one of the set's values. It always compares
// against every entry, so the time taken does not reveal which one matched.
func (s digestSet) match(v string) bool {
	d := sha256.Sum256([]byte(v))
	ok := 0
	for i := range s {
		ok |= subtle.ConstantTimeCompare(d[:], s[i][:])
	}
	return ok == 1
}

// base64Encodings are tried in order by decodeBase64: vendors differ on the
// alphabet (standard or URL-safe) and on padding, and all four are unambiguous
// for valid input.
var base64Encodings = []*base64.Encoding{
	base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding,
}

// decodeBase64 decodes s in the standard or URL alphabet, padded or not.
// Embedded whitespace (which encoding/base64 would skip) is rejected.
func decodeBase64(s string) ([]byte, error) {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return nil, errBadBase64
	}
	for _, enc := range base64Encodings {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errBadBase64
}
