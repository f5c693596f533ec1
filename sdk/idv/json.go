package idv

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
)

// MarshalJSON encodes e in the CloudEvents JSON format (structured mode):
// the attributes (the time in UTC), then the data as a JSON value when it
// is JSON, else as data_base64, then the extensions in name order: the
// order sdk-go writes.
func (e CloudEvent) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	field := func(name string, v any) error {
		if b.Len() > 0 {
			b.WriteByte(',')
		} else {
			b.WriteByte('{')
		}
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		if raw, ok := v.(json.RawMessage); ok {
			return json.Compact(&b, raw)
		}
		val, err := json.Marshal(v)
		b.Write(val)
		return err
	}
	str := func(name, v string) error {
		if v == "" {
			return nil
		}
		return field(name, v)
	}
	errs := []error{
		field("specversion", e.SpecVersion), field("id", e.ID), field("source", e.Source), field("type", e.Type),
		str("subject", e.Subject), str("datacontenttype", e.DataContentType), str("dataschema", e.DataSchema),
	}
	if !e.Time.IsZero() {
		errs = append(errs, field("time", e.Time.UTC().Format(time.RFC3339Nano)))
	}
	if len(e.Data) > 0 {
		if isJSON(e.DataContentType) && json.Valid(e.Data) {
			errs = append(errs, field("data", json.RawMessage(e.Data)))
		} else {
			errs = append(errs, field("data_base64", base64.StdEncoding.EncodeToString(e.Data)))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(e.Extensions)) {
		errs = append(errs, field(name, e.Extensions[name]))
	}
	b.WriteByte('}')
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("idv: encode event %s: %w", e.ID, err)
	}
	return b.Bytes(), nil
}

// UnmarshalJSON decodes a CloudEvent in the CloudEvents JSON format and
// validates it ([CloudEvent.Validate]). Extension values that are JSON
// numbers or booleans keep their JSON text; a null attribute is absent.
func (e *CloudEvent) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	out := CloudEvent{}
	var errs []error
	str := func(name string) string {
		v, ok := raw[name]
		if !ok || string(v) == "null" {
			return ""
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			errs = append(errs, fmt.Errorf("%s: not a string", name))
		}
		return s
	}
	out.SpecVersion, out.ID, out.Source, out.Type = str("specversion"), str("id"), str("source"), str("type")
	out.Subject, out.DataContentType, out.DataSchema = str("subject"), str("datacontenttype"), str("dataschema")
	if _, ok := raw["subject"]; ok && out.Subject == "" && string(raw["subject"]) != "null" {
		errs = append(errs, errors.New("subject: empty"))
	}
	if t := str("time"); t != "" {
		var err error
		if out.Time, err = time.Parse(time.RFC3339Nano, t); err != nil {
			errs = append(errs, errors.New("time: not an RFC 3339 timestamp"))
		}
	}
	data, hasData := raw["data"]
	hasData = hasData && string(data) != "null"
	if b64 := str("data_base64"); b64 != "" {
		if hasData {
			errs = append(errs, errors.New("data and data_base64: set at most one"))
		}
		var err error
		if out.Data, err = base64.StdEncoding.DecodeString(b64); err != nil {
			errs = append(errs, errors.New("data_base64: not base64"))
		}
	} else if hasData {
		var s string
		if !isJSON(out.DataContentType) && json.Unmarshal(data, &s) == nil {
			out.Data = []byte(s) // a text payload travels as a JSON string
		} else {
			out.Data = bytes.Clone(data)
		}
	}
	for name, v := range raw {
		if contextAttribute(name) || name == "data" || name == "data_base64" || string(v) == "null" {
			continue
		}
		var val any
		if err := json.Unmarshal(v, &val); err != nil {
			errs = append(errs, fmt.Errorf("extension %q: %w", name, err))
			continue
		}
		var s string
		switch val := val.(type) {
		case string:
			s = val
		case bool:
			s = strconv.FormatBool(val)
		case float64:
			s = string(v)
		default:
			errs = append(errs, fmt.Errorf("extension %q: not a string, number or boolean", name))
			continue
		}
		if out.Extensions == nil {
			out.Extensions = map[string]string{}
		}
		out.Extensions[name] = s
	}
	errs = append(errs, out.Validate())
	if err := errors.Join(errs...); err != nil {
		return err
	}
	*e = out
	return nil
}
