package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/sdk/idv"
)

// contractExample is the config example of docs/contract.md, verbatim.
const contractExample = `
nats:
  url: ""                      # idvbus: empty = embedded server; services: nats://host:4222
  embedded: {listen: "127.0.0.1:4222", store_dir: "./data/nats"}
jetstream: {replicas: 1, raw_max_age: 720h, duplicate_window: 1h}
ingest: {listen: ":8080", max_body_bytes: 1048576}
sources:
  - name: persona
    vendor: persona
    decision_policy: vendor    # or auto
    auth: {type: persona, secrets: ["${PERSONA_WEBHOOK_SECRET}"], tolerance: 5m}
  - name: idwise
    vendor: idwise
    auth: {type: basic, username: idwise, secrets: ["${IDWISE_WEBHOOK_PASSWORD}"]}
  - name: incode
    vendor: incode
    auth: {type: header, header: X-Webhook-Token, secrets: ["${INCODE_WEBHOOK_TOKEN}"]}
  - name: credas
    vendor: credas
    auth: {type: header, header: webhookAuth, secrets: ["${CREDAS_WEBHOOK_TOKEN}"], allow_ips: []}
subscribers:
  - name: onboarding
    url: http://127.0.0.1:9000/idv
    secrets: ["${ONBOARDING_WHSEC}"]   # Standard Webhooks secret, whsec_<base64>
    filter: {vendors: [], types: [], statuses: [approved, declined, needs_review], checks: []}
    format: structured
`

var contractEnv = config.Env{
	"PERSONA_WEBHOOK_SECRET": "wbhsec_p", "IDWISE_WEBHOOK_PASSWORD": "pw",
	"INCODE_WEBHOOK_TOKEN": "it", "CREDAS_WEBHOOK_TOKEN": "ct", "ONBOARDING_WHSEC": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}

func load(t *testing.T, yaml string, env config.Env) (config.Config, []string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "idvbus.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.Load(path, env)
}

func TestContractExampleLoads(t *testing.T) {
	cfg, _, err := load(t, contractExample, contractEnv)
	if err != nil {
		t.Fatalf("the contract's own example must load: %v", err)
	}
	if got := cfg.Sources[0].Auth.Secrets[0]; got != "wbhsec_p" {
		t.Errorf("${PERSONA_WEBHOOK_SECRET} expanded to %q", got)
	}
	if cfg.Sources[0].Auth.Tolerance != 5*time.Minute || cfg.JetStream.RawMaxAge != 720*time.Hour {
		t.Errorf("durations: tolerance %s raw_max_age %s", cfg.Sources[0].Auth.Tolerance, cfg.JetStream.RawMaxAge)
	}
	if cfg.Sources[1].DecisionPolicy != "vendor" {
		t.Errorf("decision_policy default = %q", cfg.Sources[1].DecisionPolicy)
	}
	if cfg.Ingest.PublishTimeout != 5*time.Second || !cfg.JetStream.ManageTopology {
		t.Errorf("defaults not kept for keys the file omits: %+v", cfg.Ingest)
	}
	// The example's subscriber lists the decisions: it gets exactly them, of
	// every vendor, and no check events.
	f := cfg.Subscribers[0].Filter
	if want := (config.SubscriberFilter{Statuses: []idv.Status{"approved", "declined", "needs_review"}}); !reflect.DeepEqual(f, want) {
		t.Errorf("subscriber filter = %+v, want %+v", f, want)
	}
	wantSubjects := []string{"idv.events.*.verification.approved", "idv.events.*.verification.declined", "idv.events.*.verification.needs_review"}
	if got := f.Subjects(); !reflect.DeepEqual(got, wantSubjects) {
		t.Errorf("subscriber subjects = %q, want %q", got, wantSubjects)
	}
}

func TestEnvOverrides(t *testing.T) {
	env := config.Env{}
	for k, v := range contractEnv {
		env[k] = v
	}
	env["IDVBUS_NATS_URL"] = "nats://a:4222,nats://b:4222"
	env["IDVBUS_JETSTREAM_REPLICAS"] = "3"
	env["IDVBUS_JETSTREAM_RAW_MAX_AGE"] = "168h"
	env["IDVBUS_INGEST_MAX_BODY_BYTES"] = "2097152"
	env["IDVBUS_SOURCES_PERSONA_AUTH_SECRETS"] = "wbhsec_new, wbhsec_old"
	env["IDVBUS_SOURCES_CREDAS_AUTH_ALLOW_IPS"] = "203.0.113.0/24"
	env["IDVBUS_JETSTREAM_MANAGE_TOPOLOGY"] = "false"
	env["IDVBUS_INGEST_LISTN"] = ":1" // misspelt
	cfg, warnings, err := load(t, contractExample, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NATS.URL != "nats://a:4222,nats://b:4222" || cfg.JetStream.Replicas != 3 ||
		cfg.JetStream.RawMaxAge != 168*time.Hour || cfg.Ingest.MaxBodyBytes != 2<<20 || cfg.JetStream.ManageTopology {
		t.Errorf("scalar overrides not applied: %+v %+v", cfg.NATS, cfg.JetStream)
	}
	if s := cfg.Sources[0].Auth.Secrets; len(s) != 2 || s[0] != "wbhsec_new" || s[1] != "wbhsec_old" {
		t.Errorf("list override: %q", s)
	}
	if a := cfg.Sources[3].Auth.AllowIPs; len(a) != 1 || a[0] != "203.0.113.0/24" {
		t.Errorf("allow_ips override: %q", a)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "IDVBUS_INGEST_LISTN") {
		t.Errorf("warnings = %q, want one about IDVBUS_INGEST_LISTN", warnings)
	}
}

func TestDevelopmentSetupCanTakeARealSecretFromEnv(t *testing.T) {
	cfg, _, err := config.Finish(config.Development(), config.Env{"IDVBUS_SOURCES_PERSONA_AUTH_SECRETS": "wbhsec_real"})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, s := range cfg.Sources {
		names = append(names, s.Name+"/"+s.Vendor)
	}
	if strings.Join(names, ",") != "persona/persona,idwise/idwise,incode/incode,credas/credas" {
		t.Errorf("dev sources: %v", names)
	}
	if cfg.Sources[0].Auth.Secrets[0] != "wbhsec_real" || cfg.NATS.URL != "" || cfg.NATS.Embedded.StoreDir != "./data/nats" {
		t.Errorf("dev config: %+v", cfg.NATS)
	}
}

func TestExpand(t *testing.T) {
	env := config.Env{"A": "x", "EMPTY": ""}
	for _, tc := range []struct{ in, want, err string }{
		{"${A}", "x", ""},
		{"pre-${A}-post", "pre-x-post", ""},
		{"${EMPTY}", "", ""},
		{"${MISSING:-fallback}", "fallback", ""},
		{"$${A}", "${A}", ""},
		{"no refs $A", "no refs $A", ""},
		{"${MISSING}", "", "environment variable MISSING is not set"},
		{"${A", "", "unterminated"},
		{"${1X}", "", "not a valid environment variable name"},
	} {
		got, err := config.Expand(tc.in, env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Expand(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNumbersFromEnvInYAML(t *testing.T) {
	cfg, _, err := load(t, "jetstream:\n  replicas: ${R}\ningest:\n  max_body_bytes: ${MB}\n", config.Env{"R": "3", "MB": "4096"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.JetStream.Replicas != 3 || cfg.Ingest.MaxBodyBytes != 4096 {
		t.Errorf("replicas %d max_body %d", cfg.JetStream.Replicas, cfg.Ingest.MaxBodyBytes)
	}
}

// TestValidationErrors: every invalid setting gives one line naming the field.
func TestValidationErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unset secret variable", `sources: [{name: p, vendor: persona, auth: {type: persona, secrets: ["${NOPE}"]}}]`,
			"sources[0].auth.secrets[0]: environment variable NOPE is not set"},
		{"unknown key", "ingest: {listn: ':1'}", "field listn not found"},
		{"bad source name", `sources: [{name: "Bad.Name", vendor: persona, auth: {type: persona, secrets: [s]}}]`,
			`sources[0].name: "Bad.Name" must match`},
		{"duplicate source", `sources: [{name: p, vendor: persona, auth: {type: persona, secrets: [s]}}, {name: p, vendor: persona, auth: {type: persona, secrets: [s]}}]`,
			`sources[1].name: "p" is used by another source`},
		{"unknown vendor", `sources: [{name: p, vendor: acme, auth: {type: persona, secrets: [s]}}]`,
			`sources[0].vendor: "acme" is not one of`},
		{"bad decision policy", `sources: [{name: p, vendor: persona, decision_policy: maybe, auth: {type: persona, secrets: [s]}}]`,
			`sources[0].decision_policy: "maybe" is not one of vendor, auto`},
		{"no secrets", `sources: [{name: p, vendor: persona, auth: {type: persona}}]`, "sources[0].auth.secrets"},
		{"none without opt-in", `sources: [{name: p, vendor: persona, auth: {type: none}}]`, "sources[0].auth.type: none requires"},
		{"bad auth type", `sources: [{name: p, vendor: persona, auth: {type: magic, secrets: [s]}}]`, `sources[0].auth.type: "magic" is not one of`},
		{"bad allow_ips", `sources: [{name: p, vendor: persona, auth: {type: persona, secrets: [s], allow_ips: [nope]}}]`, "sources[0].auth.allow_ips[0]"},
		{"replicas", "jetstream: {replicas: 7}", "jetstream.replicas: 7 is not between 1 and 5"},
		{"storage", "jetstream: {storage: tape}", `jetstream.storage: "tape" is not one of file, memory`},
		{"window > max age", "jetstream: {raw_max_age: 1h, duplicate_window: 2h}", "jetstream.duplicate_window: 2h0m0s is longer than jetstream.raw_max_age"},
		{"body limit", "ingest: {max_body_bytes: 0}", "ingest.max_body_bytes: 0 is not between 1 and"},
		{"inflight below body limit", "ingest: {max_body_bytes: 2097152, max_inflight_body_bytes: 1048576, max_inflight_body_bytes_per_ip: 1048576}",
			"ingest.max_inflight_body_bytes: 1048576 is less than ingest.max_body_bytes 2097152"},
		{"per-ip above total", "ingest: {max_inflight_body_bytes: 8388608, max_inflight_body_bytes_per_ip: 16777216}",
			"ingest.max_inflight_body_bytes_per_ip: 16777216 is not between ingest.max_body_bytes 1048576 and ingest.max_inflight_body_bytes 8388608"},
		{"publish vs write timeout", "ingest: {publish_timeout: 40s}", "ingest.publish_timeout: 40s must be shorter than ingest.write_timeout"},
		{"listen", "ingest: {listen: 'localhost'}", `ingest.listen: "localhost" is not host:port`},
		{"ops listen", "ingest: {ops_listen: 'localhost'}", `ingest.ops_listen: "localhost" is not host:port`},
		{"ops listen is the webhook port", "ingest: {listen: ':9090', ops_listen: ':9090'}", `ingest.ops_listen: ":9090" is ingest.listen too`},
		{"trusted proxy", "ingest: {trusted_proxies: [x]}", `ingest.trusted_proxies[0]: "x" is not an IP or CIDR`},
		{"nats url", "nats: {url: 'http//oops'}", "nats.url"},
		{"nats scheme", "nats: {url: 'http://h:1'}", `nats.url: scheme "http" is not one of`},
		{"user without password", "nats: {url: 'nats://h:1', user: u}", "nats.password: required with nats.user"},
		{"two auth methods", "nats: {url: 'nats://h:1', token: t, user: u, password: p}", "nats: set only one of"},
		{"missing creds file", "nats: {url: 'nats://h:1', creds_file: /nonexistent/x.creds}", `nats.creds_file: cannot read "/nonexistent/x.creds"`},
		{"tls pair", "nats: {url: 'nats://h:1', tls: {cert_file: /etc/hostname}}", "nats.tls: cert_file and key_file go together"},
		{"log level", "log: {level: loud}", `log.level: "loud" is not one of`},
		{"subscriber secret", "subscribers: [{name: s, url: 'http://h/x', secrets: [plain]}]", "subscribers[0].secrets[0]: must be a Standard Webhooks secret"},
		{"subscriber url", "subscribers: [{name: s, url: 'ftp://h/x', secrets: [" + testSecret + "]}]", `subscribers[0].url: "ftp://h/x" is not an http(s) URL`},
		{"workers", "normalizer: {workers: 0}", "normalizer.workers: 0 is not between 1 and 4096"},
		{"backoff beyond the duplicate window", "normalizer: {max_deliveries: 20, backoff: [10m]}", "normalizer.backoff: 20 deliveries span 3h10m0s, not less than jetstream.duplicate_window 1h0m0s"},
		{"no backoff", "normalizer: {backoff: []}", "normalizer.backoff: at least one delay is required"},
		{"negative backoff", "normalizer: {backoff: [1s, -1s]}", "normalizer.backoff[1]: must be positive"},
		{"pinned ttl", "normalizer: {pinned_ttl: 10ms}", "normalizer.pinned_ttl: 10ms is shorter than 1s"},
		{"results: unknown result", `sources: [{name: c, vendor: credas, results: {default: {"4": great}}, auth: {type: header, header: h, secrets: [s]}}]`,
			`sources[0].results: default: "great" is not a result`},
		{"results: unknown check", `sources: [{name: c, vendor: credas, results: {retina: {"4": passed}}, auth: {type: header, header: h, secrets: [s]}}]`,
			"sources[0].results:"},
		{"results on a vendor without codes", `sources: [{name: p, vendor: persona, results: {default: {"4": passed}}, auth: {type: persona, secrets: [s]}}]`,
			"sources[0].results:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := load(t, tc.yaml, config.Env{})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error:\n%v\nwant a line containing %q", err, tc.want)
			}
		})
	}
}

func TestEveryProblemIsItsOwnLine(t *testing.T) {
	_, _, err := load(t, "jetstream: {replicas: 0, storage: tape}\ningest: {max_body_bytes: -1}\n", config.Env{})
	if err == nil {
		t.Fatal("want errors")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, one per problem, got %d:\n%v", len(lines), err)
	}
}

func TestEnvOverrideParseErrorNamesVariable(t *testing.T) {
	_, _, err := config.Finish(config.Default(), config.Env{"IDVBUS_JETSTREAM_REPLICAS": "three"})
	if err == nil || !strings.Contains(err.Error(), "jetstream.replicas (IDVBUS_JETSTREAM_REPLICAS)") {
		t.Fatalf("err = %v", err)
	}
}

func TestShippedExampleLoads(t *testing.T) {
	cfg, _, err := config.Load("../../deploy/idvbus.example.yaml", config.Env{
		"PERSONA_WEBHOOK_SECRET": "a", "IDWISE_WEBHOOK_PASSWORD": "b", "INCODE_WEBHOOK_TOKEN": "c", "CREDAS_WEBHOOK_TOKEN": "d"})
	if err != nil {
		t.Fatalf("deploy/idvbus.example.yaml: %v", err)
	}
	if len(cfg.Sources) != 4 {
		t.Fatalf("%d sources", len(cfg.Sources))
	}
}

func TestNormalizerSettings(t *testing.T) {
	cfg, warnings, err := load(t, `
normalizer: {workers: 4, backoff: [2s, 1m]}
sources:
  - {name: credas, vendor: credas, results: {right_to_work: {"4": failed}}, auth: {type: header, header: h, secrets: [s]}}
  - {name: sumsub, vendor: sumsub, auth: {type: hmac, header: X-Payload-Digest, secrets: [s]}}
`, config.Env{"IDVBUS_NORMALIZER_BACKOFF": "1s, 10s", "IDVBUS_NORMALIZER_MAX_DELIVERIES": "3", "IDVBUS_NORMALIZER_INSTANCE": "normalizer-0"})
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Normalizer
	if n.Workers != 4 || n.MaxDeliveries != 3 || len(n.Backoff) != 2 || n.Backoff[1] != 10*time.Second || n.PinnedTTL != 3*time.Second || n.AckWait != 3*time.Second || n.Instance != "normalizer-0" {
		t.Fatalf("normalizer %+v", n)
	}
	opts, err := cfg.Sources[0].ParserOptions()
	if err != nil || opts.Results["right_to_work"]["4"] != "failed" {
		t.Fatalf("results %+v %v", opts, err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `source "sumsub": vendor sumsub has no normalizer yet`) {
		t.Fatalf("warnings %q", warnings)
	}
}

// TestBadNATSURLErrorHidesItsPassword: the error of a nats.url that is not a
// usable URL is printed at start; it names the field without the URL's
// password.
func TestBadNATSURLErrorHidesItsPassword(t *testing.T) {
	for _, u := range []string{"nats://alice:s3cret-pw@", "nats://al ice:s3cret-pw@host:4222"} {
		_, _, err := config.Finish(config.Default(), config.Env{"IDVBUS_NATS_URL": u})
		if err == nil || !strings.Contains(err.Error(), "nats.url") {
			t.Fatalf("%q: error %v, want one naming nats.url", u, err)
		}
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("%q: the error shows the password: %v", u, err)
		}
	}
}
