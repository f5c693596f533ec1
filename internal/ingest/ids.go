package ingest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/idvbus/idvbus/internal/vendors"
)

// maxEventIDLen bounds a vendor event id used in a dedup key; longer or odd ids
// fall back to the body hash, which is just as deterministic.
const maxEventIDLen = 200

// MsgID is the raw dedup key of a webhook (its Nats-Msg-Id): "<source>:<vendor
// event id>" where the vendor gives one, else "<source>:sha256:<hex of body>".
// Every redelivery of one vendor event gets the same key, so JetStream stores
// it once within the duplicate window.
func MsgID(source string, v vendors.Vendor, body []byte) string {
	if id, ok := v.EventID(body); ok && printableID(id) {
		return source + ":" + id
	}
	sum := sha256.Sum256(body)
	return source + ":sha256:" + hex.EncodeToString(sum[:])
}

// printableID accepts 1..maxEventIDLen visible ASCII characters: a header value
// cannot carry control characters, and ids never need spaces.
func printableID(id string) bool {
	if id == "" || len(id) > maxEventIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= 0x20 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// requestID returns the caller's X-Request-Id when it is a sane token, else a
// new random one; it ties the log lines, the stored message and the answer.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 128 && printableID(id) {
		return id
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}
