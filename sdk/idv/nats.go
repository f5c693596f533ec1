package idv

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// HeaderPrefix starts the NATS header of every attribute of a binary-mode
// CloudEvent: ce-<attribute name>.
const HeaderPrefix = "ce-"

// FromNATS decodes a CloudEvent from a NATS message in binary mode (ce-*
// headers, the data as the body) or structured mode (content-type
// application/cloudevents+json and the event as a JSON body), and validates
// it ([CloudEvent.Validate]). Binary-mode header values are percent-decoded
// ([DecodeHeaderValue]); header names are matched without regard to case.
// The event's Data is data itself, not a copy. FromNATS only reads: acking
// a JetStream message stays with the caller. Every error wraps
// [ErrNotCloudEvent].
func FromNATS(header nats.Header, data []byte) (CloudEvent, error) {
	e, err := fromNATS(header, data)
	if err != nil {
		return CloudEvent{}, fmt.Errorf("%w: %w", ErrNotCloudEvent, err)
	}
	return e, nil
}

func fromNATS(header nats.Header, data []byte) (CloudEvent, error) {
	if structured(header) {
		var e CloudEvent
		if err := json.Unmarshal(data, &e); err != nil {
			return CloudEvent{}, fmt.Errorf("structured mode: %w", err)
		}
		return e, nil
	}
	e := CloudEvent{Data: data}
	seen := make(map[string]bool, 10)
	var errs []error
	for key, values := range header {
		if len(key) < len(HeaderPrefix) || !strings.EqualFold(key[:len(HeaderPrefix)], HeaderPrefix) || len(values) == 0 {
			continue
		}
		name := strings.ToLower(key[len(HeaderPrefix):])
		if seen[name] {
			errs = append(errs, fmt.Errorf("%s: set twice", name))
			continue
		}
		seen[name] = true
		v, err := DecodeHeaderValue(values[0])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		switch name {
		case "specversion":
			e.SpecVersion = v
		case "id":
			e.ID = v
		case "source":
			e.Source = v
		case "type":
			e.Type = v
		case "subject":
			if v == "" {
				errs = append(errs, errors.New("subject: empty"))
			}
			e.Subject = v
		case "time":
			if e.Time, err = time.Parse(time.RFC3339Nano, v); err != nil {
				errs = append(errs, errors.New("time: not an RFC 3339 timestamp"))
			}
		case "datacontenttype":
			e.DataContentType = v
		case "dataschema":
			e.DataSchema = v
		default:
			if e.Extensions == nil {
				e.Extensions = make(map[string]string, 1)
			}
			e.Extensions[name] = v
		}
	}
	if !seen["specversion"] {
		return CloudEvent{}, errors.New("no ce-specversion header (binary mode) and no content-type " + ContentTypeCloudEventsJSON + " (structured mode)")
	}
	if err := errors.Join(append(errs, e.Validate())...); err != nil {
		return CloudEvent{}, err
	}
	return e, nil
}

// structured reports whether the message says it holds a structured-mode
// event: its content-type header is application/cloudevents+json.
func structured(header nats.Header) bool {
	for key, values := range header {
		if strings.EqualFold(key, "content-type") && len(values) > 0 {
			mt, _, err := mime.ParseMediaType(values[0])
			return err == nil && mt == ContentTypeCloudEventsJSON
		}
	}
	return false
}
