package idv

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
)

// Validate reports, one per line, where e breaks the CloudEvents 1.0 rules
// for the attributes: specversion 1.0; id, source (a URI reference) and type
// required; datacontenttype a media type (RFC 2046) and dataschema an
// absolute URI when present; extension names of lower-case letters and
// digits only, none of them a context attribute's name.
func (e CloudEvent) Validate() error {
	var errs []error
	if e.SpecVersion != SpecVersion {
		errs = append(errs, fmt.Errorf("specversion: %q, want %q", e.SpecVersion, SpecVersion))
	}
	if e.ID == "" {
		errs = append(errs, errors.New("id: required"))
	}
	if e.Source == "" {
		errs = append(errs, errors.New("source: required"))
	} else if _, err := url.Parse(e.Source); err != nil {
		errs = append(errs, errors.New("source: not a URI reference"))
	}
	if e.Type == "" {
		errs = append(errs, errors.New("type: required"))
	}
	if e.DataContentType != "" {
		if mt, _, err := mime.ParseMediaType(e.DataContentType); err != nil || !strings.Contains(mt, "/") {
			errs = append(errs, errors.New("datacontenttype: not a media type"))
		}
	}
	if e.DataSchema != "" {
		if u, err := url.Parse(e.DataSchema); err != nil || !u.IsAbs() {
			errs = append(errs, errors.New("dataschema: not an absolute URI"))
		}
	}
	for name := range e.Extensions {
		switch {
		case !validAttributeName(name):
			errs = append(errs, fmt.Errorf("extension %q: a name is lower-case letters and digits", name))
		case contextAttribute(name) || name == "data" || name == "data_base64":
			errs = append(errs, fmt.Errorf("extension %q: the name of a context attribute", name))
		}
	}
	return errors.Join(errs...)
}

// validAttributeName: CloudEvents 1.0, "Attribute Naming Convention".
func validAttributeName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// contextAttribute reports whether name is one of the CloudEvents 1.0
// context attributes (not an extension).
func contextAttribute(name string) bool {
	switch name {
	case "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema":
		return true
	}
	return false
}

// isJSON reports whether a datacontenttype is JSON: empty (the JSON format's
// default), application/json, text/json or any +json type.
func isJSON(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}
