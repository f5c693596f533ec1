package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/ctl/samples"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

// idvctl runs idvctl with args and the given environment.
func idvctl(t *testing.T, env config.Env, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, &out, &errb, env)
	return code, out.String(), errb.String()
}

// fakeIngest verifies every request with the dev config's verifier of the
// source in its path and answers as ingest does; it records what it got.
type fakeIngest struct {
	*httptest.Server
	mu     sync.Mutex
	bodies map[string][]byte // by source
	answer int               // status for authenticated requests (0: 200)
}

func newFakeIngest(t *testing.T) *fakeIngest {
	t.Helper()
	cfg := config.Development()
	verifiers := map[string]webhookauth.Verifier{}
	for _, s := range cfg.Sources {
		v, err := webhookauth.New(s.Auth, s.AllowUnauthenticated)
		if err != nil {
			t.Fatal(err)
		}
		verifiers[s.Name] = v
	}
	f := &fakeIngest{bodies: map[string][]byte{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/webhooks/")
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		v, ok := verifiers[name]
		if !ok {
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"status":"error","error":"unknown source"}`))
			return
		}
		if err := v.Verify(&webhookauth.Request{Header: r.Header, Body: body, RemoteIP: netip.MustParseAddr("127.0.0.1")}); err != nil {
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"status":"error","error":"authentication failed"}`))
			return
		}
		f.mu.Lock()
		f.bodies[name] = body
		code := f.answer
		f.mu.Unlock()
		if code != 0 {
			w.WriteHeader(code)
			_, _ = w.Write([]byte(`{"status":"error","error":"jetstream unavailable"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"accepted","id":"` + name + `:x"}`))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeIngest) body(source string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[source]
}

// TestSendEverySampleIsSignedForTheDevSources: every sample of every vendor
// authenticates against the development config's verifier of its source.
func TestSendEverySampleIsSignedForTheDevSources(t *testing.T) {
	f := newFakeIngest(t)
	for _, s := range samples.All() {
		code, out, errs := idvctl(t, nil, "send", "--json", "--ingest", f.URL, s.Vendor, s.Name)
		if code != ExitOK {
			t.Fatalf("%s %s: exit %d: %s", s.Vendor, s.Name, code, errs)
		}
		var res sendResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s %s: output %q: %v", s.Vendor, s.Name, out, err)
		}
		if res.Status != "accepted" || res.HTTPStatus != 200 || res.Source != s.Vendor || res.Event != s.Name || res.VerificationID == "" {
			t.Errorf("%s %s: %+v", s.Vendor, s.Name, res)
		}
		if !bytes.Contains(f.body(s.Vendor), []byte(res.VerificationID)) {
			t.Errorf("%s %s: the body sent does not carry verification %s", s.Vendor, s.Name, res.VerificationID)
		}
	}
}

func TestSendReusesIDAndReference(t *testing.T) {
	f := newFakeIngest(t)
	code, out, errs := idvctl(t, nil, "send", "--ingest", f.URL, "--id", "inq_follow1", "--reference", "cust-9", "--event-id", "evt_fixed", "persona", "inquiry.started")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if want := "accepted persona:x verification inq_follow1 (source persona)\n"; out != want {
		t.Fatalf("output %q, want %q", out, want)
	}
	body := string(f.body("persona"))
	for _, want := range []string{`"id": "inq_follow1"`, `"reference-id": "cust-9"`, `"id": "evt_fixed"`} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s", want)
		}
	}
}

func TestSendFileSendsTheBodyAsIs(t *testing.T) {
	f := newFakeIngest(t)
	captured := []byte(`{"interviewId":"itv_1","onboardingStatus":"ONBOARDING_FINISHED","x":[1, 2]}`)
	path := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(path, captured, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := idvctl(t, nil, "send", "--json", "--ingest", f.URL, "--file", path, "--source", "incode")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !bytes.Equal(f.body("incode"), captured) {
		t.Fatalf("sent %q, want the file byte for byte", f.body("incode"))
	}
	var res sendResult
	_ = json.Unmarshal([]byte(out), &res)
	if res.Event != "ONBOARDING_FINISHED" || res.VerificationID != "itv_1" || res.Vendor != "incode" {
		t.Fatalf("%+v", res)
	}
	// From stdin, naming the vendor instead of the source.
	stdin = bytes.NewReader(captured)
	defer func() { stdin = os.Stdin }()
	f.mu.Lock()
	f.bodies = map[string][]byte{}
	f.mu.Unlock()
	if code, _, errs := idvctl(t, nil, "send", "--ingest", f.URL, "--file", "-", "incode"); code != ExitOK || !bytes.Equal(f.body("incode"), captured) {
		t.Fatalf("--file -: exit %d %s", code, errs)
	}
	if code, _, _ := idvctl(t, nil, "send", "--ingest", f.URL, "--file", filepath.Join(t.TempDir(), "none"), "incode"); code != ExitUsage {
		t.Fatalf("missing file: exit %d, want usage", code)
	}
	// Without --source or vendor, the dev config's four sources are ambiguous.
	if code, _, errs := idvctl(t, nil, "send", "--ingest", f.URL, "--file", path); code != ExitUsage {
		t.Fatalf("exit %d (%s), want usage", code, errs)
	}
}

func TestSendExitCodes(t *testing.T) {
	f := newFakeIngest(t)
	cases := []struct {
		name string
		args []string
		env  config.Env
		want int
		says string
	}{
		{"unknown vendor", []string{"send", "--ingest", f.URL, "acme", "x"}, nil, ExitUsage, `no samples for vendor "acme"`},
		{"unknown event", []string{"send", "--ingest", f.URL, "persona", "inquiry.nope"}, nil, ExitUsage, "send --list persona"},
		{"no event or list", []string{"send"}, nil, ExitUsage, "send needs"},
		{"source of another vendor", []string{"send", "--ingest", f.URL, "--source", "idwise", "persona", "inquiry.created"}, nil, ExitUsage, "not persona"},
		{"unknown source", []string{"send", "--ingest", f.URL, "--source", "nope", "persona", "inquiry.created"}, nil, ExitUsage, `no source "nope"`},
		{"wrong secret", []string{"send", "--ingest", f.URL, "persona", "inquiry.created"},
			config.Env{"IDVBUS_SOURCES_PERSONA_AUTH_SECRETS": "not-the-dev-secret"}, ExitRefused,
			"401 authentication failed — idvctl signs with the secret the development setup (no config) with IDVBUS_SOURCES_… overrides gives source persona; idvbus must have the same secret"},
		{"ingest down", []string{"send", "--ingest", "http://127.0.0.1:1", "persona", "inquiry.created"}, nil, ExitFailure, "send to http://127.0.0.1:1/webhooks/persona: "},
		{"ingest down, what to try", []string{"send", "--ingest", "http://127.0.0.1:1", "persona", "inquiry.created"}, nil, ExitFailure, "is idvbus (or ingest) running there? --ingest URL"},
	}
	for _, c := range cases {
		code, _, errs := idvctl(t, c.env, c.args...)
		if code != c.want || !strings.Contains(errs, c.says) {
			t.Errorf("%s: exit %d %q, want %d and %q", c.name, code, errs, c.want, c.says)
		}
		if strings.Contains(errs, "not-the-dev-secret") || strings.Contains(errs, config.DevPersonaSecret) {
			t.Errorf("%s: a secret in the output", c.name)
		}
	}
	f.mu.Lock()
	f.answer = 503
	f.mu.Unlock()
	if code, _, errs := idvctl(t, nil, "send", "--ingest", f.URL, "persona", "inquiry.created"); code != ExitFailure || !strings.Contains(errs, "503 jetstream unavailable") {
		t.Errorf("503: exit %d %q", code, errs)
	}
}

func TestSendList(t *testing.T) {
	code, out, _ := idvctl(t, nil, "send", "--list")
	if code != ExitOK || strings.Count(out, "\n") != len(samples.All()) {
		t.Fatalf("exit %d, %d lines for %d samples", code, strings.Count(out, "\n"), len(samples.All()))
	}
	code, out, _ = idvctl(t, nil, "send", "--json", "idwise")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var first sampleEntry
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &first); err != nil || first.Vendor != "idwise" || first.VendorEvent == "" {
		t.Fatalf("%q: %v", out, err)
	}
	if strings.Contains(out, `"vendor":"persona"`) {
		t.Fatal("send idwise listed another vendor's samples")
	}
}

func TestIngestBase(t *testing.T) {
	for _, c := range []struct{ flag, listen, want string }{
		{"", ":8080", "http://127.0.0.1:8080"},
		{"", "0.0.0.0:9000", "http://127.0.0.1:9000"},
		{"", "[::]:9000", "http://127.0.0.1:9000"},
		{"", "10.0.0.5:8080", "http://10.0.0.5:8080"},
		{"https://in.example/", ":8080", "https://in.example"},
	} {
		if got := ingestBase(c.flag, c.listen); got != c.want {
			t.Errorf("ingestBase(%q, %q) = %q, want %q", c.flag, c.listen, got, c.want)
		}
	}
}
