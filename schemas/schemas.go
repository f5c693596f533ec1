// Package schemas is idvbus's public event contract in machine-readable form:
// the JSON Schemas of the data of every CloudEvent type the normalizer emits,
// a schema of the CloudEvent itself, and an AsyncAPI 3.0 description of the
// JetStream subjects (asyncapi.yaml). Non-Go subscribers use the files; Go
// code uses [Validate] to check event data against them.
//
// The files are embedded in the binary; [FS] serves them. Each JSON Schema's
// $id is the URL an event carries as its dataschema.
//
// The package deliberately does not import sdk/idv, so that the domain model
// may itself validate against these schemas; its tests check that the event
// types, URLs and enums here and there agree.
package schemas

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The event types with a data schema; the same strings as
// idv.TypeVerificationUpdated and idv.TypeCheckCompleted.
const (
	typeVerificationUpdated = "io.idvbus.verification.updated.v1"
	typeCheckCompleted      = "io.idvbus.check.completed.v1"
)

// BaseURL is where the files of this directory are published: every JSON
// Schema's $id is BaseURL + its file name. It equals idv.SchemaBaseURL.
const BaseURL = "https://raw.githubusercontent.com/idvbus/idvbus/main/schemas/"

// CloudEventFile is the schema of a whole idvbus CloudEvent in the JSON event
// format (structured mode), data included; see [ValidateEvent].
const CloudEventFile = "cloudevent.v1.json"

// AsyncAPIFile describes the JetStream subjects, headers and messages.
const AsyncAPIFile = "asyncapi.yaml"

// dataFiles maps each event type to the file of its data schema.
var dataFiles = map[string]string{
	typeVerificationUpdated: "verification.updated.v1.json",
	typeCheckCompleted:      "check.completed.v1.json",
}

// files holds the event contract of this directory: the versioned JSON
// Schemas (*.v1.json, ...) and asyncapi.yaml. config.schema.json, the schema
// of the server's config file (internal/config/gen), is for editors and is
// not embedded.
//
//go:embed *.v[0-9]*.json asyncapi.yaml
var files embed.FS

// FS returns the embedded schema files: the *.json JSON Schemas and
// asyncapi.yaml, at the root of the file system. It is read-only and safe
// for concurrent use.
func FS() fs.FS { return files }

// File returns the name of the file (in [FS] and in the repository's schemas/
// directory) holding the JSON Schema of eventType's data, e.g.
// "verification.updated.v1.json"; "" for an unknown event type.
func File(eventType string) string { return dataFiles[eventType] }

// ErrUnknownType is returned by [Validate] for an event type without a schema.
var ErrUnknownType = errors.New("schemas: unknown event type")

// compiled holds the compiled schemas: one per event type, and the
// CloudEvent schema under the key CloudEventFile.
type compiled map[string]*jsonschema.Schema

// load compiles every embedded schema once, on first use. Compilation never
// touches the network: each file is registered under its $id, so references
// between them resolve to the embedded copies. An error here is a defect in
// the embedded files, which this package's tests catch; it is returned rather
// than panicking so that a caller's process keeps running.
var load = sync.OnceValues(func() (compiled, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// In draft 2020-12 "format" is only an annotation unless asserted; the
	// contract promises RFC 3339 times, so enforce them.
	c.AssertFormat()
	names := []string{CloudEventFile}
	for _, f := range dataFiles {
		names = append(names, f)
	}
	for _, name := range names {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, fmt.Errorf("schemas: read %s: %w", name, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("schemas: parse %s: %w", name, err)
		}
		if err := c.AddResource(BaseURL+name, doc); err != nil {
			return nil, fmt.Errorf("schemas: add %s: %w", name, err)
		}
	}
	out := compiled{}
	for typ, name := range dataFiles {
		sch, err := c.Compile(BaseURL + name)
		if err != nil {
			return nil, fmt.Errorf("schemas: compile %s: %w", name, err)
		}
		out[typ] = sch
	}
	sch, err := c.Compile(BaseURL + CloudEventFile)
	if err != nil {
		return nil, fmt.Errorf("schemas: compile %s: %w", CloudEventFile, err)
	}
	out[CloudEventFile] = sch
	return out, nil
})

// Validate checks that data, the JSON data of a CloudEvent of type eventType,
// matches the schema of that type. It returns nil when it does, an error
// wrapping [ErrUnknownType] for a type without a schema, and a
// [*ValidationError] (wrapping [ErrInvalid]) listing every violation when it
// does not or when data is not a single JSON value. The error names locations
// in data and what is wrong there, never the values found, so it is safe to
// log and to put in a dead-letter header. Any other error means the embedded
// schemas do not compile (a build defect). Safe for concurrent use.
func Validate(eventType string, data []byte) error {
	if File(eventType) == "" {
		return fmt.Errorf("%w %q", ErrUnknownType, eventType)
	}
	return validate(eventType, data)
}

// ValidateEvent checks a whole CloudEvent in the JSON event format
// (structured mode, as the notifier sends it by default) against
// cloudevent.v1.json: the attributes as idvbus sets them, and data against
// the schema its type names. Errors are as for [Validate], with
// [ValidationError.Type] set to CloudEventFile.
func ValidateEvent(event []byte) error {
	return validate(CloudEventFile, event)
}

// validate checks doc against the compiled schema under key (an event type
// or CloudEventFile), which also names the document in errors.
func validate(key string, doc []byte) error {
	schemas, err := load()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		// The decoder's message may quote a piece of the input: drop it.
		return &ValidationError{Type: key, Violations: []Violation{{
			Keyword: "json", Message: "not a single valid JSON value",
		}}}
	}
	err = schemas[key].Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("schemas: validate %s: %w", key, err)
	}
	return newValidationError(key, ve)
}
