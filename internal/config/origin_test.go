package config_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/config"
)

// loadFile writes yaml to a file and loads it with its origins.
func loadFile(t *testing.T, yaml string, env config.Env) config.Loaded {
	t.Helper()
	path := filepath.Join(t.TempDir(), "idvbus.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := config.LoadFile(path, env)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return l
}

func TestOriginsTrackEachStep(t *testing.T) {
	l := loadFile(t, `
jetstream: {replicas: 3}
log:
  level: ${LEVEL}
ingest: &in {listen: ":18300"}
sources:
  - name: persona
    vendor: persona
    auth: {type: persona, secrets: ["${PERSONA_SECRET}"]}
subscribers:
  - name: onboarding
    url: http://127.0.0.1:18301/idv
    secrets: ["${WHSEC}"]
    timeout: 0s    # 0 means the default
    concurrency: 4
`, config.Env{"LEVEL": "debug", "PERSONA_SECRET": "wbhsec_x", "WHSEC": testWHSec,
		"IDVBUS_JETSTREAM_REPLICAS": "1", "IDVBUS_SUBSCRIBERS_ONBOARDING_RATE": "20/s"})
	want := map[string]string{
		"nats.connect_timeout":              "default",
		"jetstream.replicas":                "env IDVBUS_JETSTREAM_REPLICAS", // env wins over the file
		"log.level":                         "file",                          // ${VAR} counts as the file
		"log.format":                        "default",
		"ingest.listen":                     "file", // through an anchor
		"sources[0].name":                   "file",
		"sources[0].auth.secrets":           "file",
		"sources[0].decision_policy":        "default", // a per-item default
		"subscribers[0].timeout":            "default", // the file wrote 0, the default applies
		"subscribers[0].concurrency":        "file",
		"subscribers[0].rate":               "env IDVBUS_SUBSCRIBERS_ONBOARDING_RATE",
		"subscribers[0].retry.max_attempts": "default",
	}
	for path, origin := range want {
		if got := l.Origins.Of(path).String(); got != origin {
			t.Errorf("%s: origin %q, want %q", path, got, origin)
		}
	}
	if l.Config.Subscribers[0].Timeout != config.DefaultSubscriberTimeout || l.Config.JetStream.Replicas != 1 {
		t.Errorf("values: timeout %s, replicas %d", l.Config.Subscribers[0].Timeout, l.Config.JetStream.Replicas)
	}
}

func TestOriginsOfTheDevelopmentSetup(t *testing.T) {
	l, err := config.LoadDevelopment(config.Env{"IDVBUS_SOURCES_PERSONA_AUTH_SECRETS": "wbhsec_real"})
	if err != nil {
		t.Fatal(err)
	}
	for path, origin := range map[string]string{
		"ingest.listen":           "development setup",
		"log.format":              "development setup",
		"log.level":               "default",
		"sources[1].auth.type":    "development setup",
		"sources[1].auth.prefix":  "default",
		"sources[0].auth.secrets": "env IDVBUS_SOURCES_PERSONA_AUTH_SECRETS",
	} {
		if got := l.Origins.Of(path).String(); got != origin {
			t.Errorf("%s: origin %q, want %q", path, got, origin)
		}
	}
	if l.File != "" || !strings.Contains(l.Describe(), "development setup") {
		t.Errorf("file %q, describe %q", l.File, l.Describe())
	}
}

// testWHSec2 is a second valid subscriber secret (32 bytes 0x20..0x3f).
const testWHSec2 = "whsec_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="

// testWHSec is testSecret under the name of this file's tests.
const testWHSec = testSecret

// The secrets below are distinctive so that the test can look for them.
const (
	secretVendor    = "wbhsec_vendor_SECRET_1"
	secretVendorEnv = "wbhsec_vendor_SECRET_2"
	secretNATSPass  = "nats_PASS_3"
	secretNATSToken = "nats_TOKEN_4"
	secretURLPass   = "url_PASS_5"
	secretURLQuery  = "query_TOKEN_6"
	secretFileName  = "seed_FILE_7"
)

func TestPrintMasksEverySecret(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, secretFileName)
	if err := os.WriteFile(keyFile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := `
sources:
  - name: persona
    vendor: persona
    auth: {type: persona, secrets: ["${PERSONA_SECRET}"]}
  - name: incode
    vendor: incode
    auth: {type: header, header: X-Webhook-Token, secrets: [placeholder]}
subscribers:
  - name: onboarding
    url: https://hooks.example.com/idv?token=` + secretURLQuery + `
    secrets: ["` + testWHSec + `", "` + testWHSec2 + `"]
`
	env := config.Env{"PERSONA_SECRET": secretVendor, "IDVBUS_SOURCES_INCODE_AUTH_SECRETS": secretVendorEnv}
	configs := map[string]string{
		"user and password": base + "nats: {url: nats://n1:4222, user: svc, password: " + secretNATSPass + "}\n",
		"token":             base + "nats: {url: nats://n1:4222, token: " + secretNATSToken + "}\n",
		"url credentials":   base + "nats: {url: 'nats://svc:" + secretURLPass + "@n1:4222,nats://n2:4222'}\n",
		"nkey seed file":    base + "nats: {url: nats://n1:4222, nkey_seed_file: " + keyFile + "}\n",
	}
	secrets := []string{secretVendor, secretVendorEnv, secretNATSPass, secretNATSToken, secretURLPass,
		secretURLQuery, secretFileName, testWHSec, testWHSec2, strings.TrimPrefix(testWHSec, "whsec_")}
	for name, yaml := range configs {
		l := loadFile(t, yaml, env)
		for _, asJSON := range []bool{false, true} {
			var out bytes.Buffer
			if err := config.Print(&out, l, asJSON); err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if strings.Contains(out.String(), s) {
					t.Errorf("%s (json %v): the output shows the secret %q:\n%s", name, asJSON, s, out.String())
				}
			}
			// The rest is there: names, non-secret values, origins.
			for _, want := range []string{"onboarding", "X-Webhook-Token", "hooks.example.com", config.Masked, "IDVBUS_SOURCES_INCODE_AUTH_SECRETS"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("%s (json %v): the output lacks %q:\n%s", name, asJSON, want, out.String())
				}
			}
		}
	}
}

func TestPrintJSONListsEverySetting(t *testing.T) {
	l := loadFile(t, "jetstream: {replicas: 3}\nsources: [{name: persona, vendor: persona, auth: {type: persona, secrets: [s]}}]\n",
		config.Env{"IDVBUS_INGEST_LISTEN": "127.0.0.1:18302"})
	l.Chosen = "--config"
	var out bytes.Buffer
	if err := config.Print(&out, l, true); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Config   string           `json:"config"`
		File     string           `json:"file"`
		Chosen   string           `json:"chosen"`
		Settings []config.Setting `json:"settings"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if doc.File != l.File || doc.Chosen != "--config" || !strings.Contains(doc.Config, "(from --config)") {
		t.Errorf("config %q, file %q, chosen %q", doc.Config, doc.File, doc.Chosen)
	}
	got := map[string]config.Setting{}
	for _, s := range doc.Settings {
		got[s.Key] = s
	}
	for key, want := range map[string]config.Setting{
		"jetstream.replicas":      {Value: 3.0, Origin: "file", Env: "IDVBUS_JETSTREAM_REPLICAS"},
		"ingest.listen":           {Value: "127.0.0.1:18302", Origin: "env IDVBUS_INGEST_LISTEN", Env: "IDVBUS_INGEST_LISTEN"},
		"jetstream.raw_max_age":   {Value: "720h", Origin: "default", Env: "IDVBUS_JETSTREAM_RAW_MAX_AGE"},
		"sources[0].auth.secrets": {Value: []any{config.Masked}, Origin: "file", Env: "IDVBUS_SOURCES_PERSONA_AUTH_SECRETS"},
		"sources[0].results":      {Value: map[string]any{}, Origin: "default"},
	} {
		s, ok := got[key]
		want.Key = key
		if !ok || s.Origin != want.Origin || s.Env != want.Env || !jsonEqual(s.Value, want.Value) {
			t.Errorf("%s: got %+v, want %+v", key, s, want)
		}
	}
	for _, k := range config.Keys() {
		if strings.HasPrefix(k.Path, "subscribers[]") { // there is no subscriber
			continue
		}
		if _, ok := got[strings.Replace(k.Path, "[]", "[0]", 1)]; !ok {
			t.Errorf("key %s not printed", k.Path)
		}
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestNamesThatShareVariablesAreRefused(t *testing.T) {
	_, _, err := load(t, `
sources:
  - {name: id-wise, vendor: idwise, auth: {type: basic, username: u, secrets: [a]}}
  - {name: id_wise, vendor: idwise, auth: {type: basic, username: u, secrets: [b]}}
  - {name: persona, vendor: persona, auth: {type: persona, secrets: [c]}}
  - {name: persona, vendor: persona, auth: {type: persona, secrets: [d]}}
subscribers:
  - {name: on-boarding, url: "http://127.0.0.1:18303/", secrets: ["`+testWHSec+`"]}
  - {name: on_boarding, url: "http://127.0.0.1:18304/", secrets: ["`+testWHSec+`"]}
`, config.Env{"IDVBUS_SOURCES_ID_WISE_AUTH_USERNAME": "x"})
	if err == nil {
		t.Fatal("names that share their IDVBUS_ variables were accepted")
	}
	for _, want := range []string{
		`sources[1].name: "id_wise" and source "id-wise" share their environment variables (IDVBUS_SOURCES_ID_WISE_...): rename one`,
		`sources[3].name: "persona" is used by another source`,
		`subscribers[1].name: "on_boarding" and subscriber "on-boarding" share their environment variables (IDVBUS_SUBSCRIBERS_ON_BOARDING_...)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestMisspeltVariableWarningSuggestsTheSetting(t *testing.T) {
	_, warnings, err := config.Finish(config.Development(), config.Env{"IDVBUS_NATS_ULR": "x", "IDVBUS_WHATEVER_THIS_IS": "y", "IDVBUS_CONFG": "z"})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(warnings, "\n")
	for _, want := range []string{
		"environment variable IDVBUS_NATS_ULR names no setting; ignored (did you mean IDVBUS_NATS_URL?)",
		"environment variable IDVBUS_WHATEVER_THIS_IS names no setting; ignored\n",
		"environment variable IDVBUS_CONFG names no setting; ignored (did you mean IDVBUS_CONFIG?)",
	} {
		if !strings.Contains(joined+"\n", want) {
			t.Errorf("warnings lack %q:\n%s", want, joined)
		}
	}
}

func TestIngestNeedsASource(t *testing.T) {
	cfg, _, err := load(t, "", config.Env{})
	if err != nil {
		t.Fatalf("an empty file is a valid config (a normalizer alone needs nothing): %v", err)
	}
	if err := cfg.ValidateServices(config.Services{Normalizer: true, Notifier: true}); err != nil {
		t.Errorf("normalizer and notifier: %v", err)
	}
	for _, s := range []config.Services{{Ingest: true}, config.AllServices} {
		if err := cfg.ValidateServices(s); err == nil || !strings.Contains(err.Error(), "sources: at least one source is required") {
			t.Errorf("%+v: %v", s, err)
		}
	}
}

// TestPrintFilterLists: a subscriber filter's typed lists ([]idv.Status and
// the like) print as the lists of strings they are in the file, an unset
// one as [], not null.
func TestPrintFilterLists(t *testing.T) {
	l := loadFile(t, `subscribers: [{name: crm, url: "http://127.0.0.1:18199/idv", secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], filter: {statuses: [approved]}}]`+"\n", nil)
	var out bytes.Buffer
	if err := config.Print(&out, l, true); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Settings []config.Setting `json:"settings"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	got := map[string]any{}
	for _, s := range doc.Settings {
		got[s.Key] = s.Value
	}
	for key, want := range map[string]any{
		"subscribers[0].filter.statuses": []any{"approved"},
		"subscribers[0].filter.types":    []any{},
		"subscribers[0].filter.checks":   []any{},
	} {
		if !jsonEqual(got[key], want) {
			t.Errorf("%s = %#v, want %#v", key, got[key], want)
		}
	}
}
