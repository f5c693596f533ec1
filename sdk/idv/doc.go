// Package idv is idvbus's domain model, shared with subscribers: the unified
// verification statuses, checks and results, the two CloudEvent types the
// normalizer emits, their data, the [Filter] that chooses events, and a
// small [CloudEvent] type with its decoding from NATS messages.
//
// A Go service that consumes IDV_EVENTS decodes a message with [FromNATS] and
// then [DecodeVerificationUpdated] or [DecodeCheckCompleted]; services in other
// languages read the same thing from the `ce-*` headers (percent-encoded, as
// the CloudEvents bindings say) and the JSON body (see schemas/asyncapi.yaml).
//
// The package is part of the module github.com/idvbus/idvbus/sdk, which
// depends on nats.go alone: nothing of the idvbus server. Building events is
// the server's business and lives there.
package idv
