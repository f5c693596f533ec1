package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrConflict is returned by [StateStore.Put] when the key changed since it was
// read: reload and try again.
var ErrConflict = errors.New("state changed concurrently")

// StateStore reads and writes verification states in KV IDV_STATE with
// compare-and-set.
type StateStore struct {
	kv jetstream.KeyValue
}

// State binds the IDV_STATE bucket; call it after [Bus.EnsureTopology].
func (b *Bus) State(ctx context.Context) (*StateStore, error) {
	kv, err := b.js.KeyValue(ctx, BucketState)
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", BucketState, err)
	}
	return &StateStore{kv: kv}, nil
}

// Get returns the value stored under key and its revision; a missing (or
// deleted) key gives nil and revision 0.
func (s *StateStore) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("kv get: %w", err)
	}
	return e.Value(), e.Revision(), nil
}

// Put stores value under key if the key is still at revision rev (0: the key
// must not exist) and returns the new revision; otherwise it returns
// [ErrConflict].
func (s *StateStore) Put(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	var (
		n   uint64
		err error
	)
	if rev == 0 {
		n, err = s.kv.Create(ctx, key, value)
	} else {
		n, err = s.kv.Update(ctx, key, value, rev)
	}
	if err == nil {
		return n, nil
	}
	var apiErr *jetstream.APIError
	if errors.Is(err, jetstream.ErrKeyExists) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence) {
		return 0, ErrConflict
	}
	return 0, fmt.Errorf("kv put: %w", err)
}

// StateKey returns the IDV_STATE key of a verification: <vendor>.<escaped id>.
// KV keys allow only [-/_=.a-zA-Z0-9] and dots separate tokens, so every other
// byte of id (and '.', '=' and '/') is written as =XX (upper-case hex); the
// escaping is reversible and keeps distinct ids distinct.
func StateKey(vendor, verificationID string) string {
	var b strings.Builder
	b.Grow(len(vendor) + 1 + len(verificationID))
	b.WriteString(vendor)
	b.WriteByte('.')
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(verificationID); i++ {
		c := verificationID[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		default:
			b.WriteByte('=')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
	return b.String()
}
