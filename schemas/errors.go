package schemas

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// ErrInvalid is wrapped by every [*ValidationError]: the document does not
// match its schema. For an emitted event that is a bug, not a retryable
// condition.
var ErrInvalid = errors.New("schemas: invalid document")

// ValidationError reports a document that does not match its schema. It
// lists where and how, never the values found there: event data is personal
// data, and this error ends up in logs and dead-letter headers.
type ValidationError struct {
	// Type is the event type whose data was checked, or CloudEventFile for a
	// whole event.
	Type string
	// Violations are sorted by location, then keyword and message.
	Violations []Violation
}

// Violation is one way a document fails its schema.
type Violation struct {
	// Location is a JSON pointer into the document, e.g. "/raw/seq"; "" is
	// the whole document.
	Location string
	// Keyword is the failing JSON Schema keyword, e.g. "required", "enum",
	// "additionalProperties"; "json" when the document is not JSON at all.
	Keyword string
	// Message says what is wrong without quoting the value, e.g.
	// "minimum: must be >= 1" or "missing property \"status\"".
	Message string
}

// Error returns one line: the type and every violation, as
// "schemas: invalid <type>: /revision: minimum: must be >= 1; ...".
func (e *ValidationError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "schemas: invalid %s", e.Type)
	for i, v := range e.Violations {
		if i == 0 {
			sb.WriteString(": ")
		} else {
			sb.WriteString("; ")
		}
		loc := v.Location
		if loc == "" {
			loc = "(root)"
		}
		fmt.Fprintf(&sb, "%s: %s", loc, v.Message)
	}
	return sb.String()
}

// Unwrap returns [ErrInvalid].
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// newValidationError flattens the library's error tree into its leaves, the
// violations themselves; the inner nodes only say "allOf failed" and the
// like.
func newValidationError(label string, root *jsonschema.ValidationError) *ValidationError {
	var out []Violation
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		out = append(out, Violation{
			Location: pointer(e.InstanceLocation),
			Keyword:  keyword(e.ErrorKind),
			Message:  describe(e.ErrorKind),
		})
	}
	walk(root)
	slices.SortFunc(out, func(a, b Violation) int {
		return cmp.Or(
			cmp.Compare(a.Location, b.Location),
			cmp.Compare(a.Keyword, b.Keyword),
			cmp.Compare(a.Message, b.Message),
		)
	})
	return &ValidationError{Type: label, Violations: slices.Compact(out)}
}

// pointer renders an instance location as a JSON pointer (RFC 6901).
func pointer(tokens []string) string {
	var sb strings.Builder
	for _, t := range tokens {
		sb.WriteByte('/')
		sb.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
	}
	return sb.String()
}

// keyword is the last element of k's keyword path, e.g. "required".
func keyword(k jsonschema.ErrorKind) string {
	if p := k.KeywordPath(); len(p) > 0 {
		return p[len(p)-1]
	}
	return ""
}

// printer renders the library's messages, in English like the rest of
// idvbus's errors.
var printer = message.NewPrinter(language.English)

// describe describes a failed keyword without the instance value. The
// library's own messages quote the value for format, pattern and the numeric
// keywords, and a format error may embed it too; those are rewritten here.
// Only kinds whose library message is known to hold nothing but schema
// values, JSON type names, lengths or property names are passed through;
// anything else gets a generic message naming the keyword.
func describe(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Format:
		return fmt.Sprintf("format: not a valid %s", k.Want)
	case *kind.Pattern:
		return fmt.Sprintf("pattern: does not match %s", k.Want)
	case *kind.Minimum:
		return fmt.Sprintf("minimum: must be >= %s", k.Want.RatString())
	case *kind.Maximum:
		return fmt.Sprintf("maximum: must be <= %s", k.Want.RatString())
	case *kind.ExclusiveMinimum:
		return fmt.Sprintf("exclusiveMinimum: must be > %s", k.Want.RatString())
	case *kind.ExclusiveMaximum:
		return fmt.Sprintf("exclusiveMaximum: must be < %s", k.Want.RatString())
	case *kind.MultipleOf:
		return fmt.Sprintf("multipleOf: must be a multiple of %s", k.Want.RatString())
	case *kind.Type, *kind.Enum, *kind.Const, *kind.Required,
		*kind.AdditionalProperties, *kind.MinLength, *kind.MaxLength,
		*kind.MinProperties, *kind.MaxProperties, *kind.MinItems, *kind.MaxItems,
		*kind.FalseSchema:
		// Their messages hold type names, lengths, counts, property names
		// and the schema's own values only.
		return k.LocalizedString(printer)
	}
	if kw := keyword(k); kw != "" {
		return kw + ": failed"
	}
	return "does not match the schema"
}
