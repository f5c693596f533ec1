package tracing

import "go.opentelemetry.io/otel/attribute"

// Attributes idvbus sets on its spans (docs/tracing.md lists them per span).
// None holds personal data: no verification or reference id, no body, no
// header value, no subscriber URL.
const (
	AttrSource       = attribute.Key("idvbus.source")       // configured source name
	AttrVendor       = attribute.Key("idvbus.vendor")       // vendor name
	AttrOutcome      = attribute.Key("idvbus.outcome")      // the outcome label of the service's metrics
	AttrMsgID        = attribute.Key("idvbus.msg_id")       // raw dedup key: <source>:<vendor event id> or <source>:sha256:<hex>
	AttrStreamSeq    = attribute.Key("idvbus.stream_seq")   // sequence in the consumed stream
	AttrDelivery     = attribute.Key("idvbus.delivery")     // JetStream delivery count of the consumed message
	AttrVendorEvent  = attribute.Key("idvbus.vendor_event") // the vendor's event name (e.g. inquiry.approved)
	AttrEvents       = attribute.Key("idvbus.events")       // CloudEvents published
	AttrSubscriber   = attribute.Key("idvbus.subscriber")   // subscriber name
	AttrEventID      = attribute.Key("idvbus.event_id")     // CloudEvent id (deterministic hash)
	AttrEventType    = attribute.Key("idvbus.event_type")   // CloudEvent type
	AttrAttempt      = attribute.Key("idvbus.attempt")      // delivery attempt, from 1
	AttrRetryIn      = attribute.Key("idvbus.retry_in_ms")  // delay before the next attempt
	AttrDeadLettered = attribute.Key("idvbus.dead_letter")  // why it was dead-lettered (a reason label)
	// HTTP semantic conventions (stable).
	AttrHTTPMethod = attribute.Key("http.request.method")
	AttrHTTPRoute  = attribute.Key("http.route")
	AttrHTTPStatus = attribute.Key("http.response.status_code")
)
