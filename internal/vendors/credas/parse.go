package credas

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/sdk/idv"
)

// updateType is one Credas UpdateType: the service whose result changed.
type updateType struct {
	name  string    // our name of it, used in Event, CheckUpdate.ID and VendorCheck
	event string    // "credas:" + name
	check idv.Check // the check its plain result fields report
}

// updateTypes is indexed by UpdateType (vendors.md §3.1).
var updateTypes = [...]updateType{
	1: {"name_check", "credas:name_check", idv.CheckNameCheck},
	2: {"share_code", "credas:share_code", idv.CheckShareCode},
	3: {"liveness", "credas:liveness", idv.CheckLiveness},
	4: {"id_document", "credas:id_document", idv.CheckDocument},
	5: {"supporting_document", "credas:supporting_document", idv.CheckSupportingDocument},
	6: {"datacheck", "credas:datacheck", idv.CheckDatabase},
	7: {"right_to_rent", "credas:right_to_rent", idv.CheckRightToRent},
	8: {"right_to_work", "credas:right_to_work", idv.CheckRightToWork},
	9: {"safe_harbour", "credas:safe_harbour", idv.CheckSafeHarbour},
}

// subChecks maps the prefix of a "<prefix>VerificationResult" field that
// names a sub-check to its unified check (matched case-insensitively, in
// this order); other prefixes report the UpdateType's check.
var subChecks = [...]struct {
	prefix string
	check  idv.Check
}{
	{"NameCheck", idv.CheckNameCheck},
	{"FacialMatch", idv.CheckFaceMatch},
	{"Liveness", idv.CheckLiveness},
	{"Nfc", idv.CheckDocument},
	{"VisualAnalysis", idv.CheckDocument},
	{"BackScan", idv.CheckDocument},
	{"ShareCode", idv.CheckShareCode},
}

const (
	resultSuffix = "VerificationResult"
	// maxFieldName bounds the name of a result field: it becomes
	// vendor_check, part of a check id and of the duplicate key. Credas's
	// field names are PascalCase identifiers well under this.
	maxFieldName = 64
	// maxKeyLen bounds Report.Key, which the normalizer keeps per
	// verification: a longer result list is replaced by its SHA-256, which
	// still changes with any value.
	maxKeyLen = 512
	// unrecognized stands in, in Unmapped, for a value that is not reported.
	unrecognized = "<unrecognized>"
)

// parser is the Credas [report.Parser]; safe for concurrent use.
type parser struct {
	tables *tables
}

// envelope is the outer body. encoding/json matches field names
// case-insensitively, which covers both `UpdateType` (the docs' example) and
// `updateType` (their prose).
type envelope struct {
	UpdateType updateTypeJSON `json:"UpdateType"`
	Payload    payloadJSON    `json:"Payload"`
}

// updateTypeJSON is the envelope's UpdateType, read without a copy.
type updateTypeJSON struct {
	n       int64
	present bool // in the body and not null
	ok      bool // an integer
}

// UnmarshalJSON reads b, a valid JSON value (json.Unmarshal checks the whole
// body first).
func (u *updateTypeJSON) UnmarshalJSON(b []byte) error {
	*u = updateTypeJSON{present: !isNull(b)}
	u.n, u.ok = jsonInt(b)
	return nil
}

// payloadJSON is the envelope's Payload as the JSON text of an object to
// walk: a string's contents, decoded once, or an object itself.
type payloadJSON struct {
	obj []byte
	err string // why Payload cannot be used; "" when obj is set
}

// UnmarshalJSON reads b, a valid JSON value (json.Unmarshal checks the whole
// body first). A string is decoded once and never again, so a payload
// nested deeper is invalid; the work is linear in b's size.
func (p *payloadJSON) UnmarshalJSON(b []byte) error {
	*p = payloadJSON{}
	switch {
	case isNull(b):
		p.err = "Payload missing"
	case b[0] == '{':
		p.obj = bytes.Clone(b) // b is not ours to keep
	case b[0] == '"':
		var s string
		if json.Unmarshal(b, &s) != nil {
			p.err = "Payload is not a JSON string"
		} else if obj := []byte(s); !json.Valid(obj) {
			p.err = "Payload does not hold JSON"
		} else {
			p.obj = obj
		}
	default:
		p.err = "Payload is neither a string nor an object"
	}
	return nil
}

// Parse reads a result status update. It reports no verification status and
// no event time: every integer result field of the payload becomes one check
// result, sorted by field name (see [DefaultResults] for the value table),
// and a payload without one reports the UpdateType's check as completed.
// Key is "<UpdateType>:<EntityId>:<result id>:" followed by the sorted
// "field=value" list of result fields (its SHA-256 when the key would be
// longer than 512 bytes), so a re-sent, re-serialized update has the same
// key and a changed value a new one.
//
// The payload string is decoded once and its object walked once, so the
// work is linear in the body's size.
func (p *parser) Parse(body []byte) (report.Report, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		// The decoder's message may quote a byte of the body: not wrapped.
		return report.Report{}, fmt.Errorf("%w: body is not a JSON object", report.ErrInvalid)
	}
	if !env.UpdateType.present {
		if !report.IsObject(body) {
			return report.Report{}, fmt.Errorf("%w: body is not a JSON object", report.ErrInvalid)
		}
		// Not a result status update: Credas's process and process actor
		// (invite delivery) webhooks, or a shape not known yet. They say
		// nothing about checks: ignored (counted), never dead-lettered.
		return otherWebhook(body), nil
	}
	n := env.UpdateType.n
	if !env.UpdateType.ok {
		return report.Report{}, fmt.Errorf("%w: UpdateType is not an integer", report.ErrInvalid)
	}
	if env.Payload.obj == nil {
		if env.Payload.err == "" {
			env.Payload.err = "Payload missing"
		}
		return report.Report{}, fmt.Errorf("%w: %s", report.ErrInvalid, env.Payload.err)
	}
	obj := env.Payload.obj
	var buf [16]member
	fields, ok := members(obj, buf[:0])
	if !ok {
		return report.Report{}, fmt.Errorf("%w: Payload does not hold a JSON object", report.ErrInvalid)
	}

	entity, present, valid := "", false, false
	if m, found := findFold(fields, "EntityId"); found && !isNull(m.val) {
		present = true
		entity, valid = jsonString(m.val)
		valid = valid && report.ValidID(entity)
	}
	if n < 1 || n >= int64(len(updateTypes)) {
		r := report.Report{Event: "credas:" + strconv.FormatInt(n, 10), Ignored: "unknown UpdateType"}
		if valid {
			r.VerificationID = entity
		}
		return r, nil
	}
	if !present {
		return report.Report{}, fmt.Errorf("%w: Payload.EntityId missing", report.ErrInvalid)
	}
	if !valid {
		return report.Report{}, fmt.Errorf("%w: Payload.EntityId is not a valid id", report.ErrInvalid)
	}
	r := report.Report{Event: updateTypes[n].event, VerificationID: entity}
	p.results(&r, n, fields)
	return r, nil
}

// results fills in r's Checks, Unmapped and Key from the payload fields of
// an update of known type n.
func (p *parser) results(r *report.Report, n int64, fields []member) {
	ut := &updateTypes[n]
	rid := resultID(fields)
	var key strings.Builder
	key.Grow(len(r.VerificationID) + len(rid) + 48)
	key.WriteString(strconv.FormatInt(n, 10))
	key.WriteByte(':')
	key.WriteString(r.VerificationID)
	key.WriteByte(':')
	key.WriteString(rid)
	key.WriteByte(':')
	head := key.Len()
	for _, m := range fields {
		if !isResultField(m.name) {
			continue
		}
		v, ok := jsonInt(m.val)
		if !ok {
			if !isNull(m.val) {
				r.Unmapped = append(r.Unmapped, string(m.name)+"="+unrecognized)
			}
			continue
		}
		name := string(m.name)
		c := checkOf(name, ut.check)
		vs := strconv.FormatInt(v, 10)
		res, known := p.tables.lookup(c, v)
		if !known {
			res = idv.ResultCompleted
			r.Unmapped = append(r.Unmapped, name+"="+vs)
		}
		if r.Checks == nil {
			r.Checks = make([]report.CheckUpdate, 0, countResults(fields))
		} else {
			key.WriteByte(',')
		}
		r.Checks = append(r.Checks, report.CheckUpdate{
			Check:        c,
			Result:       res,
			VendorCheck:  name,
			VendorResult: vs,
			ID:           ut.name + "/" + rid + "/" + name,
		})
		key.WriteString(name)
		key.WriteByte('=')
		key.WriteString(vs)
	}
	if r.Checks == nil {
		r.Checks = []report.CheckUpdate{{
			Check:       ut.check,
			Result:      idv.ResultCompleted,
			VendorCheck: ut.name,
			ID:          ut.name + "/" + rid,
		}}
	}
	r.Key = key.String()
	if len(r.Key) > maxKeyLen {
		sum := sha256.Sum256([]byte(r.Key[head:]))
		r.Key = r.Key[:head] + "sha256:" + hex.EncodeToString(sum[:])
	}
}

// resultID returns the id of the result the update is about: the value of
// the first field (in sorted order) whose name ends in "Id", other than
// EntityId and ClientId, that holds a valid id; "-" when there is none.
func resultID(fields []member) string {
	for _, m := range fields {
		k := m.name
		if len(k) <= 2 || !bytes.EqualFold(k[len(k)-2:], []byte("id")) ||
			bytes.EqualFold(k, []byte("EntityId")) || bytes.EqualFold(k, []byte("ClientId")) {
			continue
		}
		if s, ok := jsonString(m.val); ok && report.ValidID(s) {
			return s
		}
	}
	return "-"
}

// countResults returns how many fields look like result fields.
func countResults(fields []member) int {
	n := 0
	for _, m := range fields {
		if isResultField(m.name) {
			n++
		}
	}
	return n
}

// isResultField reports whether a payload field named k carries a result:
// "…VerificationResult", "Status", "Result" or "OverallResult", in any
// case, with a plain identifier for a name.
func isResultField(k []byte) bool {
	if len(k) > maxFieldName {
		return false
	}
	for _, c := range k {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return hasSuffixFold(k, resultSuffix) || bytes.EqualFold(k, []byte("Status")) ||
		bytes.EqualFold(k, []byte("Result")) || bytes.EqualFold(k, []byte("OverallResult"))
}

// checkOf returns the check a result field reports: the sub-check its
// prefix names, else def (the UpdateType's check).
func checkOf(k string, def idv.Check) idv.Check {
	if len(k) < len(resultSuffix) || !strings.EqualFold(k[len(k)-len(resultSuffix):], resultSuffix) {
		return def
	}
	prefix := k[:len(k)-len(resultSuffix)]
	for _, s := range subChecks {
		if len(prefix) >= len(s.prefix) && strings.EqualFold(prefix[:len(s.prefix)], s.prefix) {
			return s.check
		}
	}
	return def
}

// findFold returns the first of the sorted fields whose name equals name
// under case folding.
func findFold(fields []member, name string) (member, bool) {
	for _, m := range fields {
		if bytes.EqualFold(m.name, []byte(name)) {
			return m, true
		}
	}
	return member{}, false
}

func hasSuffixFold(s []byte, suffix string) bool {
	return len(s) >= len(suffix) && bytes.EqualFold(s[len(s)-len(suffix):], []byte(suffix))
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw []byte) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// jsonString returns raw as a string when it is a JSON string.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		// No escapes: the bytes between the quotes are the string.
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonInt returns raw as an int64 when it is a JSON integer (no fraction or
// exponent) of at most 18 digits, which always fits.
func jsonInt(raw []byte) (int64, bool) {
	b := raw
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// otherWebhook is the Report of a Credas webhook without UpdateType: the
// process actor webhook (processActorId, smsStatus, emailStatus), the process
// webhook (ProcessId, Status) or an unknown shape, all ignored.
func otherWebhook(body []byte) report.Report {
	var buf [16]member
	fields, _ := members(body, buf[:0])
	has := func(name string) bool { _, ok := findFold(fields, name); return ok }
	r := report.Report{Event: "credas:unknown", Ignored: "not a result status update"}
	switch {
	case has("processActorId"):
		r.Event, r.Ignored = "credas:process_actor", "process actor webhook: invite delivery, not tracked"
	case has("ProcessId") && has("Status"):
		r.Event, r.Ignored = "credas:process", "process webhook: not tracked"
	}
	if m, ok := findFold(fields, "entityId"); ok {
		if id, ok := jsonString(m.val); ok && report.ValidID(id) {
			r.VerificationID = id
		}
	}
	return r
}
