package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/ctl/samples"
	"github.com/idvbus/idvbus/internal/vendors"
	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

func init() {
	register(command{name: "send", args: "<vendor> <event>",
		summary: "send a signed sample webhook to a running ingest", run: runSend})
}

var sendHelp = helpText{
	name: "send", args: "<vendor> <event> | --list [vendor] | --file PATH [flags]",
	purpose: "send a realistic, correctly signed vendor webhook to a running ingest, as the vendor would",
	details: sendDetails,
	examples: []string{
		"idvctl send persona inquiry.approved   # a sample with fresh ids, to the all-in-one",
		"idvctl send --id inq_X persona inquiry.started   # follow one verification",
		"idvctl send --list idwise   # the samples of one vendor (without a vendor: all)",
		"idvctl send --file body.json --source persona   # a captured body, as is (--file - reads stdin)",
	},
}

const sendDetails = `The local development loop (like "stripe trigger"). Every send has a new
vendor event id, a fresh vendor-shaped verification id unless --id is given,
the customer's id --reference (default derived from the verification id) and
the current time (--at sets it). The same --event-id and --at again resend the
same webhook, as a vendor's retry does: the ingest answers duplicate. The same
--event-id with another body (another --at or event) is a different webhook
under a taken id: stored under a derived id and answered accepted. Incode
webhooks carry no event id: the same --id and event
sent twice is the duplicate. The body is signed with the source's auth config
and its first secret. Exit 0 accepted or duplicate, 4 refused by the ingest
(4xx), 1 ingest unreachable or 5xx, 2 usage.`

// sendResult is the --json output of send.
type sendResult struct {
	Status         string `json:"status"`
	ID             string `json:"id,omitempty"`
	HTTPStatus     int    `json:"http_status"`
	Source         string `json:"source"`
	Vendor         string `json:"vendor"`
	Event          string `json:"event,omitempty"`
	VerificationID string `json:"verification_id,omitempty"`
	Error          string `json:"error,omitempty"`
}

// sampleEntry is one line of send --list --json.
type sampleEntry struct {
	Vendor      string `json:"vendor"`
	Event       string `json:"event"`
	VendorEvent string `json:"vendor_event"`
	Emits       string `json:"emits"`
}

func runSend(ctx context.Context, e *Env, args []string) int {
	fs := e.FlagSet(sendHelp)
	list := fs.Bool("list", false, "list the samples (of one vendor if named)")
	file := fs.String("file", "", "send this captured body as is, signed (- reads stdin)")
	source := fs.String("source", "", "configured source to send to (default: the one source of the vendor)")
	ingestURL := fs.String("ingest", "", "ingest base URL (default: from the config's ingest.listen, e.g. http://127.0.0.1:8080)")
	id := fs.String("id", "", "verification id (default: a fresh vendor-shaped id)")
	ref := fs.String("reference", "", "the customer's id in the webhook (default: derived from the verification id)")
	eventID := fs.String("event-id", "", "vendor event id (default: a fresh one; repeat one with the same --at to resend the same webhook)")
	at := fs.String("at", "", "the event time in the body, RFC 3339 (default: now)")
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if *list || (len(pos) == 1 && *file == "") {
		return listSamples(e, pos)
	}
	cfg, err := e.Config()
	if err != nil {
		return e.Usagef("config: %v", err)
	}
	var (
		body []byte
		res  sendResult
	)
	if *file != "" {
		if len(pos) > 1 {
			return e.Usagef("send --file takes no event (got %q)", pos[1])
		}
		vendor := ""
		if len(pos) == 1 {
			vendor = pos[0]
		}
		src, msg := pickSource(cfg, vendor, *source)
		if msg != "" {
			return e.Usagef("%s", msg)
		}
		if body, err = readBody(*file); err != nil {
			return e.Usagef("%v", err)
		}
		res = sendResult{Source: src.Name, Vendor: src.Vendor}
		// Name the event and verification in the output when the vendor's
		// parser can read the body; send it as is either way.
		if p, err := vendors.NewParser(src.Vendor, report.Options{}); err == nil {
			if r, err := p.Parse(body); err == nil {
				res.Event, res.VerificationID = r.Event, r.VerificationID
			}
		}
		return post(ctx, e, cfg, src, *ingestURL, body, res)
	}
	if len(pos) != 2 {
		return e.Usagef("send needs <vendor> <event>, --list or --file (idvctl send -h)")
	}
	vendor, event := pos[0], pos[1]
	if !knownSampleVendor(vendor) {
		return e.Usagef("no samples for vendor %q (have: %s)", vendor, strings.Join(samples.Vendors(), ", "))
	}
	s, found := samples.Lookup(vendor, event)
	if !found {
		return e.Usagef("no %s sample %q (idvctl send --list %s lists them)", vendor, event, vendor)
	}
	src, msg := pickSource(cfg, vendor, *source)
	if msg != "" {
		return e.Usagef("%s", msg)
	}
	v := samples.Values{VerificationID: *id, EventID: *eventID, Reference: *ref, Now: time.Now()}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return e.Usagef("--at %q is not an RFC 3339 time", *at)
		}
		v.Now = t
	}
	if v.VerificationID == "" {
		v.VerificationID = samples.NewVerificationID(vendor)
	}
	if v.EventID == "" {
		v.EventID = samples.NewEventID(vendor)
	}
	if v.Reference == "" {
		v.Reference = samples.DefaultReference(v.VerificationID)
	}
	if body, err = s.Render(v); err != nil {
		return e.Errorf(ExitFailure, "%v", err)
	}
	res = sendResult{Source: src.Name, Vendor: vendor, Event: s.Name, VerificationID: v.VerificationID}
	return post(ctx, e, cfg, src, *ingestURL, body, res)
}

func knownSampleVendor(v string) bool {
	for _, s := range samples.Vendors() {
		if s == v {
			return true
		}
	}
	return false
}

// listSamples prints every sample, or those of the vendor in pos.
func listSamples(e *Env, pos []string) int {
	vendor := ""
	switch len(pos) {
	case 0:
	case 1:
		vendor = pos[0]
		if !knownSampleVendor(vendor) {
			return e.Usagef("no samples for vendor %q (have: %s)", vendor, strings.Join(samples.Vendors(), ", "))
		}
	default:
		return e.Usagef("send --list takes at most a vendor")
	}
	for _, s := range samples.All() {
		if vendor != "" && s.Vendor != vendor {
			continue
		}
		e.Out(fmt.Sprintf("%-8s %-42s %s", s.Vendor, s.Name, s.Want),
			sampleEntry{Vendor: s.Vendor, Event: s.Name, VendorEvent: s.Event, Emits: s.Want.String()})
	}
	return ExitOK
}

// pickSource returns the source to send to: the one named, which must be of
// vendor when a vendor is given, else the config's one source of vendor. msg
// says why none fits.
func pickSource(cfg config.Config, vendor, name string) (config.Source, string) {
	if name != "" {
		for _, s := range cfg.Sources {
			if s.Name == name {
				if vendor != "" && s.Vendor != vendor {
					return s, fmt.Sprintf("source %q is a %s source, not %s", name, s.Vendor, vendor)
				}
				return s, ""
			}
		}
		return config.Source{}, fmt.Sprintf("no source %q in the config", name)
	}
	if vendor == "" {
		if len(cfg.Sources) == 1 {
			return cfg.Sources[0], ""
		}
		return config.Source{}, "name the source (--source NAME) or the vendor"
	}
	var found []config.Source
	for _, s := range cfg.Sources {
		if s.Vendor == vendor {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 1:
		return found[0], ""
	case 0:
		return config.Source{}, fmt.Sprintf("no %s source in the config", vendor)
	}
	names := make([]string, len(found))
	for i, s := range found {
		names[i] = s.Name
	}
	return config.Source{}, fmt.Sprintf("several %s sources (%s): choose one with --source", vendor, strings.Join(names, ", "))
}

// stdin is where send --file - reads; a variable for tests.
var stdin io.Reader = os.Stdin

// readBody reads a captured body from path, or stdin for "-".
func readBody(path string) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	if path == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(b) == 0 {
		return nil, errors.New("read body: empty")
	}
	return b, nil
}

// ingestBase is --ingest, else the config's ingest.listen as a loopback URL
// when it listens on every address (":8080" -> http://127.0.0.1:8080).
func ingestBase(flagURL, listen string) string {
	if flagURL != "" {
		return strings.TrimRight(flagURL, "/")
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// post signs body for src and posts it to the ingest, then reports the answer.
func post(ctx context.Context, e *Env, cfg config.Config, src config.Source, flagURL string, body []byte, res sendResult) int {
	now := time.Now()
	h := http.Header{}
	if err := webhookauth.Sign(src.Auth, h, body, now); err != nil {
		// The error names fields, never secrets.
		return e.Usagef("source %s: cannot sign: %v", src.Name, err)
	}
	url := ingestBase(flagURL, cfg.Ingest.Listen) + "/webhooks/" + src.Name
	if e.dryRun {
		return exitDryRun
	}
	rctx, cancel := context.WithTimeout(ctx, e.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return e.Usagef("ingest URL: %v", err)
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "idvctl")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return e.Errorf(ExitFailure, "send to %s: %v — is idvbus (or ingest) running there? --ingest URL says where", url, err)
	}
	defer resp.Body.Close()
	var a struct{ Status, ID, Error string }
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(raw, &a)
	res.HTTPStatus, res.Status, res.ID, res.Error = resp.StatusCode, a.Status, a.ID, a.Error
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		line := fmt.Sprintf("%s %s", res.Status, res.ID)
		if res.VerificationID != "" {
			line += " verification " + res.VerificationID
		}
		e.Out(line+" (source "+res.Source+")", res)
		return ExitOK
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		if res.Status == "" {
			res.Status = "refused"
		}
		if e.JSON {
			e.Out("", res)
		}
		return e.Errorf(ExitRefused, "ingest refused the webhook: %d %s%s", resp.StatusCode, answerText(a.Error, raw),
			refusalHint(resp.StatusCode, src.Name, e.configSource()))
	default:
		if res.Status == "" {
			res.Status = "error"
		}
		if e.JSON {
			e.Out("", res)
		}
		msg := fmt.Sprintf("ingest failed: %d %s", resp.StatusCode, answerText(a.Error, raw))
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			msg += " (retry after " + ra + " s)"
		}
		return e.Errorf(ExitFailure, "%s", msg)
	}
}

// answerText is the ingest's error text, or the start of a body that is not
// its JSON answer (a proxy's page).
func answerText(errText string, raw []byte) string {
	if errText != "" {
		return errText
	}
	s := strings.TrimSpace(string(raw))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// refusalHint says what to check after a 401 or 404 from the ingest: idvctl
// and idvbus must agree on the source and its secret.
func refusalHint(status int, source, configSource string) string {
	switch status {
	case http.StatusUnauthorized:
		return " — idvctl signs with the secret " + configSource + " gives source " + source +
			"; idvbus must have the same secret for it (run both with the same --config or IDVBUS_CONFIG)"
	case http.StatusNotFound:
		return " — the ingest has no source " + source + "; is idvbus running with the config idvctl reads (" + configSource + ")?"
	}
	return ""
}
