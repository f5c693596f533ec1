package ingest_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/refdata"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

// vectors is standards/standard-webhooks/vectors.json: the test vectors of
// the Standard Webhooks reference libraries.
type vectors struct {
	DefaultSecret string            `json:"default_secret"`
	Sources       map[string]string `json:"sources"` // secret spelling → source name
	Fixed         []struct {
		Name, Source, Secret, ID, Timestamp, Payload, Signature, Expect string
	} `json:"fixed"`
}

// TestStandardWebhooksVectorsThroughIngest sends every Standard Webhooks
// reference vector through ingest (a standard_webhooks source per secret;
// the tolerance stretched to the vectors' 2021-2022 timestamps, which are
// signed): each is answered as the vector expects, 200 stored or 401. Then,
// for every secret spelling the vectors name and for re-spelled signatures
// (unpadded, URL-safe), ingest's verdict is the Go reference library's.
func TestStandardWebhooksVectorsThroughIngest(t *testing.T) {
	var v vectors
	if err := json.Unmarshal(refdata.Read(t, "standards/standard-webhooks/vectors.json"), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Fixed) == 0 {
		t.Fatal("no vectors")
	}
	oldest := time.Now()
	for _, f := range v.Fixed {
		ts, err := strconv.ParseInt(f.Timestamp, 10, 64)
		if err != nil {
			t.Fatalf("%s: timestamp %q", f.Name, f.Timestamp)
		}
		if at := time.Unix(ts, 0); at.Before(oldest) {
			oldest = at
		}
	}
	tolerance := time.Since(oldest) + 24*time.Hour

	// One source per secret (as spelled), on one ingest.
	names := map[string]string{} // secret of a vector → its source
	var sources []config.Source
	addSource := func(name, secret string) bool {
		src := config.Source{Name: name, Vendor: "stripe", Auth: webhookauth.Config{Type: webhookauth.TypeStandardWebhooks,
			Secrets: []string{secret}, Tolerance: tolerance}}
		if _, err := webhookauth.New(src.Auth, false); err != nil {
			return false // refused at start-up, as the reference refuses the secret
		}
		sources = append(sources, src)
		return true
	}
	for _, f := range v.Fixed {
		if _, ok := names[f.Secret]; ok {
			continue
		}
		name := "vector-" + strconv.Itoa(len(names))
		if !addSource(name, f.Secret) {
			t.Fatalf("%s: secret refused", f.Name)
		}
		names[f.Secret] = name
	}
	spellingAccepted := map[string]bool{}
	for secret, name := range v.Sources {
		spellingAccepted[secret] = addSource(name, secret)
		if _, err := standardwebhooks.NewWebhook(secret); (err == nil) != spellingAccepted[secret] {
			t.Errorf("secret spelling of source %s: idvbus accepts it: %v, the reference: %v", name, spellingAccepted[secret], err == nil)
		}
	}
	st := &fakeStore{}
	svc, _ := newServiceOpts(t, st, func(_ *config.Ingest, s *[]config.Source) { *s = sources }, nil)
	h := svc.Handler()
	// post answers the HTTP status and, for a 200, "accepted" or "duplicate".
	post := func(source, id, ts, sig, payload string) (int, string) {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/"+source, strings.NewReader(payload))
		r.Header.Set("webhook-id", id)
		r.Header.Set("webhook-timestamp", ts)
		r.Header.Set("webhook-signature", sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var a struct{ Status string }
		_ = json.Unmarshal(w.Body.Bytes(), &a)
		return w.Code, a.Status
	}
	reference := func(secret, id, ts, sig, payload string) bool {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return false
		}
		hdr := http.Header{}
		hdr.Set("webhook-id", id)
		hdr.Set("webhook-timestamp", ts)
		hdr.Set("webhook-signature", sig)
		return wh.VerifyIgnoringTimestamp([]byte(payload), hdr) == nil
	}

	for _, f := range v.Fixed {
		want := http.StatusUnauthorized
		if f.Expect == "accept" {
			want = http.StatusOK
		}
		got, status := post(names[f.Secret], f.ID, f.Timestamp, f.Signature, f.Payload)
		if got != want {
			t.Errorf("vector %q: %d, want %d (%s)", f.Name, got, want, f.Expect)
		}
		// Vectors share payloads: a second accepted one is a duplicate of the first.
		if got == http.StatusOK && status != "accepted" && status != "duplicate" {
			t.Errorf("vector %q: answered %q", f.Name, status)
		}
		if ref := reference(f.Secret, f.ID, f.Timestamp, f.Signature, f.Payload); ref != (f.Expect == "accept") {
			t.Errorf("vector %q: the reference library says %v", f.Name, ref)
		}
	}

	// Every accepted vector re-signed under every secret spelling, and
	// re-spelled: idvbus agrees with the reference library on each.
	checked := 0
	for _, f := range v.Fixed {
		if f.Expect != "accept" || !strings.Contains(f.Secret, v.DefaultSecret) {
			continue
		}
		sig := strings.TrimPrefix(f.Signature, "v1,")
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			t.Fatal(err)
		}
		spellings := map[string]string{
			"as signed": f.Signature,
			"unpadded":  "v1," + strings.TrimRight(sig, "="),
			"URL-safe":  "v1," + base64.URLEncoding.EncodeToString(raw),
			"raw URL":   "v1," + base64.RawURLEncoding.EncodeToString(raw),
		}
		for secret, source := range v.Sources {
			for what, s := range spellings {
				// A fresh id per request: a repeated one would be a duplicate.
				id := f.ID + "-" + source + "-" + strings.ReplaceAll(what, " ", "_")
				resigned := s
				if wh, err := standardwebhooks.NewWebhook(secret); err == nil && what == "as signed" {
					resigned, _ = wh.Sign(id, unix(t, f.Timestamp), []byte(f.Payload))
				}
				ref := reference(secret, id, f.Timestamp, resigned, f.Payload)
				if !spellingAccepted[secret] {
					continue // no such source: refused at start-up, as by the reference
				}
				code, _ := post(source, id, f.Timestamp, resigned, f.Payload)
				got := code == http.StatusOK
				if got != ref {
					t.Errorf("source %s, signature %s: idvbus accepts %v, the reference %v", source, what, got, ref)
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("no spelling compared")
	}
	t.Logf("%d vectors through ingest; %d secret/signature spellings compared with the reference library", len(v.Fixed), checked)
}

func unix(t *testing.T, ts string) time.Time {
	t.Helper()
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(n, 0)
}
