// Package idv is idvbus's domain model, shared with subscribers: the unified
// verification statuses, checks and results, the two CloudEvent types the
// normalizer emits, their data, and helpers to build CloudEvents and to move
// them over NATS in binary mode.
//
// A Go service that consumes IDV_EVENTS decodes a message with [FromNATS] and
// then [DecodeVerificationUpdated] or [DecodeCheckCompleted]; services in other
// languages read the same thing from the `ce-*` headers and the JSON body
// (see schemas/asyncapi.yaml).
package idv
