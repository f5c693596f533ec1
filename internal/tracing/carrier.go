package tracing

import (
	"strings"

	"github.com/nats-io/nats.go"
)

// NATSCarrier adapts a nats.Header to OpenTelemetry's TextMapCarrier without
// changing the case of keys. propagation.HeaderCarrier over an http.Header
// would write "Traceparent"; nats.Header is case-sensitive, so a consumer in
// another language looking for the W3C spelling "traceparent" would miss it.
type NATSCarrier nats.Header

// Get returns the first value of key: the exact spelling first, else any
// spelling (a producer that wrote "Traceparent" is still understood).
func (c NATSCarrier) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	for k, v := range c {
		if len(v) > 0 && strings.EqualFold(k, key) {
			return v[0]
		}
	}
	return ""
}

// Set sets key to value, spelled exactly as given (the propagator gives
// lower case), replacing any other spelling of the same key.
func (c NATSCarrier) Set(key, value string) {
	for k := range c {
		if k != key && strings.EqualFold(k, key) {
			delete(c, k)
		}
	}
	c[key] = []string{value}
}

// Keys lists the keys present.
func (c NATSCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
