// Package samples holds the sample webhooks `idvctl send` posts: one
// template per event shape of every vendor with a normalizer (Persona,
// Incode, Credas, IDWise), filled in with fresh values on every send.
//
// The templates follow internal/vendors/*/testdata and the vendors'
// documentation (docs/vendors.md); a test renders every sample and parses it
// with its vendor's parser, so a sample that stops meaning what [Sample.Want]
// says fails the build's tests.
package samples

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/idvbus/idvbus/sdk/idv"
)

//go:embed persona/*.json incode/*.json credas/*.json idwise/*.json
var files embed.FS

// Want is what the normalizer makes of a sample: a verification status, a
// check result, or both.
type Want struct {
	Status idv.Status
	Check  idv.Check
	Result idv.Result
}

// String is "status approved", "check selfie passed" or both.
func (w Want) String() string {
	var parts []string
	if w.Status != "" {
		parts = append(parts, "status "+string(w.Status))
	}
	if w.Check != "" {
		parts = append(parts, "check "+string(w.Check)+" "+string(w.Result))
	}
	return strings.Join(parts, ", ")
}

// Sample is one sendable vendor event.
type Sample struct {
	Vendor string
	// Name is what the user types: the vendor's event name, or a variant of
	// it with a suffix (IDWise's decisions) when one event name has several
	// outcomes.
	Name string
	// Event is the vendor's own event name (vendor_event in the CloudEvent).
	Event string
	// Want is what the normalizer emits for it.
	Want Want
	file string
	// vars are the template's sample-specific parts, inserted as they are
	// (they are written here, never taken from the user).
	vars map[string]string
	// credasType, when set, wraps the rendered payload in Credas's envelope
	// {"UpdateType": n, "Payload": "<payload as a JSON string>"}.
	credasType int
}

// Values are the per-send parts of a sample.
type Values struct {
	// EventID is the vendor's event id (Persona data.id, IDWise
	// body.eventId, Credas the result row's id; Incode sends none).
	EventID string
	// VerificationID is the vendor's verification id (inquiry, interview,
	// entity, journey).
	VerificationID string
	// Reference is the customer's own id (Credas sends none).
	Reference string
	Now       time.Time
}

// HasEventID reports whether the vendor's webhooks carry an event id that
// Values.EventID fills in (Incode's do not: its duplicates are identical bodies).
func HasEventID(vendor string) bool { return vendor != "incode" }

// HasReference reports whether the vendor's webhooks carry the customer's id.
func HasReference(vendor string) bool { return vendor != "credas" }

// Vendors lists the vendors with samples, in the order List shows them.
func Vendors() []string { return []string{"persona", "incode", "credas", "idwise"} }

// All returns every sample, grouped by vendor.
func All() []Sample { return catalog }

// Lookup finds a vendor's sample by name, ignoring case and reading ' ', '_'
// and '-' alike ("finished journey" finds "finished-journey"); a Credas name
// may carry its "credas:" prefix.
func Lookup(vendor, name string) (Sample, bool) {
	want := fold(strings.TrimPrefix(strings.ToLower(name), vendor+":"))
	for _, s := range catalog {
		if s.Vendor == vendor && fold(s.Name) == want {
			return s, true
		}
	}
	return Sample{}, false
}

// fold lower-cases s and turns ' ' and '_' into '-'.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '_' {
			return '-'
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
}

// Render returns the sample's body with v filled in. User values are
// JSON-escaped, so any id renders valid JSON.
func (s Sample) Render(v Values) ([]byte, error) {
	tmpl, err := files.ReadFile(s.file)
	if err != nil {
		return nil, fmt.Errorf("sample %s %s: %w", s.Vendor, s.Name, err)
	}
	pairs := []string{
		"{{event_id}}", jsonEscape(v.EventID),
		"{{verification_id}}", jsonEscape(v.VerificationID),
		"{{reference}}", jsonEscape(v.Reference),
		"{{now}}", v.Now.UTC().Format("2006-01-02T15:04:05.000Z"),
		"{{object_id}}", objectPrefix(s.vars["type"]) + randomString(alnum, 24),
	}
	for k, val := range s.vars {
		pairs = append(pairs, "{{"+k+"}}", val)
	}
	body := []byte(strings.NewReplacer(pairs...).Replace(string(tmpl)))
	if s.credasType != 0 {
		var compact bytes.Buffer
		if err := json.Compact(&compact, body); err != nil {
			return nil, fmt.Errorf("sample %s %s: %w", s.Vendor, s.Name, err)
		}
		env, err := json.MarshalIndent(struct {
			UpdateType int
			Payload    string
		}{s.credasType, compact.String()}, "", "  ")
		if err != nil {
			return nil, err
		}
		body = append(env, '\n')
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("sample %s %s: rendered body is not JSON", s.Vendor, s.Name)
	}
	return body, nil
}

// objectPrefix is the id prefix Persona gives a verification or report.
func objectPrefix(typ string) string {
	if strings.HasPrefix(typ, "report/") {
		return "rep_"
	}
	return "ver_"
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b[1 : len(b)-1])
}

// NewVerificationID returns a fresh id shaped like the vendor's verification
// ids: Persona inq_<24 alphanumerics>, Incode a 24-hex-digit interview id,
// Credas an entity UUID, IDWise a 24-hex-digit journey id.
func NewVerificationID(vendor string) string {
	switch vendor {
	case "persona":
		return "inq_" + randomString(alnum, 24)
	case "credas":
		return newUUID()
	default:
		return randomString(hexDigits, 24)
	}
}

// NewEventID returns a fresh id shaped like the vendor's event ids (Persona
// evt_<24 alphanumerics>, Credas and IDWise a UUID); "" for Incode, whose
// webhooks carry none.
func NewEventID(vendor string) string {
	switch vendor {
	case "persona":
		return "evt_" + randomString(alnum, 24)
	case "incode":
		return ""
	default:
		return newUUID()
	}
}

// DefaultReference derives the customer id from the verification id, so
// sends that reuse one verification id carry the same reference.
func DefaultReference(verificationID string) string {
	id := strings.TrimPrefix(verificationID, "inq_")
	if len(id) > 8 {
		id = id[len(id)-8:]
	}
	return "user-" + strings.ToLower(id)
}

const (
	alnum     = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	hexDigits = "0123456789abcdef"
)

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	size := big.NewInt(int64(len(alphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, size)
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
