package webhookauth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// MinStandardSecretBytes is the shortest Standard Webhooks secret accepted
// for signing: the spec asks for 24 to 64 random bytes.
const MinStandardSecretBytes = 24

// StandardSigner signs outgoing webhooks the Standard Webhooks way (v1,
// HMAC-SHA256 over "<id>.<timestamp>.<body>"), with every secret it holds, so
// a receiver can rotate its secret without downtime. It is safe for
// concurrent use.
type StandardSigner struct {
	keys [][]byte
}

// NewStandardSigner decodes secrets (`whsec_<base64>`, each at least
// [MinStandardSecretBytes] long). Errors name the secret's position, never
// its value.
func NewStandardSigner(secrets []string) (*StandardSigner, error) {
	if len(secrets) == 0 {
		return nil, errors.New("at least one secret is required")
	}
	s := &StandardSigner{}
	for i, sec := range secrets {
		k, err := DecodeStandardSecret(sec)
		if err != nil {
			return nil, fmt.Errorf("secrets[%d]: %w", i, err)
		}
		if len(k) < MinStandardSecretBytes {
			return nil, fmt.Errorf("secrets[%d]: %d bytes; at least %d are required", i, len(k), MinStandardSecretBytes)
		}
		s.keys = append(s.keys, k)
	}
	return s, nil
}

// Sign returns the webhook-timestamp and webhook-signature values for a
// message with this id and body sent at t: one `v1,<base64>` entry per
// secret, separated by spaces.
func (s *StandardSigner) Sign(id string, t time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(t.Unix(), 10)
	buf := make([]byte, 0, len(s.keys)*48)
	for i, k := range s.keys {
		if i > 0 {
			buf = append(buf, ' ')
		}
		buf = append(buf, "v1,"...)
		buf = base64.StdEncoding.AppendEncode(buf, standardMAC(k, id, timestamp, body))
	}
	return timestamp, string(buf)
}
