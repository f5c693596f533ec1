// Package cluster_test checks the deployment files of deploy/cluster against
// a real (in-process) nats-server: the NATS config parses, and the services
// do their whole job with the least-privilege users of nats/accounts.conf and
// nothing beyond it.
package cluster_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/apptest"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

// passwords of the users in nats/accounts.conf, read by the server from its
// environment as in the compose file and the Kubernetes Secret.
var passwords = map[string]string{
	"admin": "test-admin", "ingest": "test-ingest", "normalizer": "test-normalizer",
	"notifier": "test-notifier", "idvctl": "test-idvctl",
}

const personaSecret = "wbhsec_permissions_test"

var subscriberSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("permissions-test-subscriber-secret"))

// startNATS runs nats/nats.conf (with its accounts.conf) in process, as a
// single node: the cluster block is dropped and the ports are random; the
// accounts, users and permissions are exactly the file's.
func startNATS(t *testing.T) string {
	t.Helper()
	t.Setenv("NATS_SERVER_NAME", "permissions-test")
	for user, pw := range passwords {
		t.Setenv("NATS_"+strings.ToUpper(user)+"_PASSWORD", pw)
	}
	opts, err := server.ProcessConfigFile("nats/nats.conf")
	if err != nil {
		t.Fatalf("nats/nats.conf: %v", err)
	}
	if opts.Cluster.Name != "idvbus" || len(opts.Routes) != 3 || !opts.Cluster.NoAdvertise {
		t.Errorf("nats/nats.conf: cluster %q, %d routes, no_advertise %v; want idvbus, 3, true",
			opts.Cluster.Name, len(opts.Routes), opts.Cluster.NoAdvertise)
	}
	if opts.MaxPayload < 1<<20+app.HeaderRoom {
		t.Errorf("nats/nats.conf: max_payload %d cannot hold a maximal webhook", opts.MaxPayload)
	}
	opts.Cluster = server.ClusterOpts{}
	opts.Routes = nil
	opts.Host, opts.Port = "127.0.0.1", server.RANDOM_PORT
	opts.HTTPPort = 0
	opts.StoreDir = t.TempDir()
	opts.NoLog, opts.NoSigs = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("nats/nats.conf: %v", err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return ns.ClientURL()
}

// TestServicesWorkWithTheirLeastPrivilegeUsers runs ingest, normalizer and
// notifier, each as its own user of nats/accounts.conf, with idvbus.yaml: a
// signed webhook must reach the subscriber, and no service may hit a
// permission it lacks on the way (NATS reports each one as an async error,
// which bus.Connect logs).
func TestServicesWorkWithTheirLeastPrivilegeUsers(t *testing.T) {
	url := startNATS(t)
	got := make(chan string, 16)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got <- r.Header.Get("webhook-id")
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()

	cfg, _, err := config.Load("idvbus.yaml", config.Env{
		"PERSONA_WEBHOOK_SECRET": personaSecret, "IDWISE_WEBHOOK_PASSWORD": "x",
		"INCODE_WEBHOOK_TOKEN": "x", "CREDAS_WEBHOOK_TOKEN": "x",
		"DEMO_SUBSCRIBER_URL": rcv.URL, "DEMO_SUBSCRIBER_SECRET": subscriberSecret,
		"IDVBUS_NATS_URL": url, "IDVBUS_JETSTREAM_REPLICAS": "1", // one node here
	})
	if err != nil {
		t.Fatalf("idvbus.yaml: %v", err)
	}

	core, logs := observer.New(zapcore.WarnLevel)
	services := []struct {
		user string
		run  apptest.Service
	}{{"ingest", app.Ingest}, {"normalizer", app.Normalizer}, {"notifier", app.Notifier}}
	bases := map[string]apptest.Endpoints{}
	for _, s := range services {
		c := cfg
		c.NATS.User, c.NATS.Password = s.user, passwords[s.user]
		log := zaptest.NewLogger(t, zaptest.WrapOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
			return zapcore.NewTee(c, core)
		}))).Named(s.user)
		bases[s.user] = apptest.Run(t, c.NATS.User, s.run, c, nil, log, 20*time.Second)
	}

	body := []byte(`{"data":{"type":"event","id":"evt_perm_1","attributes":{"name":"inquiry.approved","created-at":"2026-11-22T10:00:00.000Z","payload":{"data":{"type":"inquiry","id":"inq_perm_1","attributes":{"status":"approved"}}}}}}`)
	post := func(body []byte) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, bases["ingest"].Webhooks+"/webhooks/persona", bytes.NewReader(body))
		req.Header.Set("Persona-Signature", webhookauth.SignPersona(personaSecret, time.Now(), body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a struct{ Status string }
		_ = json.NewDecoder(resp.Body).Decode(&a)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("webhook answered %d, want 200", resp.StatusCode)
		}
		return a.Status
	}
	if got := post(body); got != "accepted" {
		t.Fatalf("webhook answered %q, want accepted", got)
	}
	// A duplicate makes ingest read the stored copy (dedup collisions):
	// its user needs that right too.
	if got := post(body); got != "duplicate" {
		t.Fatalf("the same webhook again answered %q, want duplicate", got)
	}
	other := bytes.Replace(body, []byte(`"inq_perm_1"`), []byte(`"inq_perm_2"`), 1)
	if got := post(other); got != "accepted" {
		t.Fatalf("another body under the same event id answered %q, want accepted", got)
	}
	select {
	case id := <-got:
		if id == "" {
			t.Error("delivery without webhook-id")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the approval was not delivered to the subscriber within 20 s")
	}
	for _, e := range logs.All() {
		if strings.Contains(strings.ToLower(e.Message+" "+fieldsString(e)), "permission") {
			t.Errorf("%s: %s %s", e.LoggerName, e.Message, fieldsString(e))
		}
	}
}

// TestUsersCannotLeaveTheirLane: each service's user is refused what belongs
// to another service or to an operator.
func TestUsersCannotLeaveTheirLane(t *testing.T) {
	url := startNATS(t)
	denied := map[string][]string{
		"ingest": {"idv.events.persona.verification.approved", "idv.dlq.normalize.persona",
			"$KV.IDV_STATE.persona.x", "$JS.API.STREAM.DELETE.IDV_RAW", "$JS.API.STREAM.PURGE.IDV_RAW",
			"$JS.API.CONSUMER.MSG.NEXT.IDV_RAW.normalizer", "$JS.API.STREAM.CREATE.OTHER"},
		"normalizer": {"idv.raw.persona.persona", "idv.dlq.notify.demo", "$KV.IDV_DELIVERIES.x",
			"$JS.API.STREAM.PURGE.IDV_DLQ", "$JS.API.CONSUMER.DELETE.IDV_RAW.normalizer",
			"$JS.API.CONSUMER.MSG.NEXT.IDV_EVENTS.notify-demo"},
		"notifier": {"idv.raw.persona.persona", "idv.events.persona.verification.approved",
			"idv.dlq.normalize.persona", "$KV.IDV_STATE.persona.x", "$JS.API.STREAM.DELETE.IDV_EVENTS",
			"$JS.API.CONSUMER.MSG.NEXT.IDV_RAW.normalizer", "$JS.API.CONSUMER.CREATE.IDV_EVENTS.someone-else"},
	}
	for user, subjects := range denied {
		t.Run(user, func(t *testing.T) {
			errs := make(chan error, 16)
			nc, err := nats.Connect(url, nats.UserInfo(user, passwords[user]),
				nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			for _, subject := range subjects {
				if err := nc.Publish(subject, []byte("x")); err != nil {
					t.Fatal(err)
				}
				if err := nc.Flush(); err != nil {
					t.Fatal(err)
				}
				select {
				case err := <-errs:
					if !strings.Contains(err.Error(), "ermissions violation") || !strings.Contains(err.Error(), subject) {
						t.Errorf("publish %s: %v, want a permissions violation for it", subject, err)
					}
				case <-time.After(5 * time.Second):
					t.Errorf("%s may publish to %s", user, subject)
				}
			}
			if _, err := nc.SubscribeSync("idv.>"); err != nil {
				t.Fatal(err)
			}
			_ = nc.Flush()
			select {
			case err := <-errs:
				if !strings.Contains(err.Error(), "ermissions violation") {
					t.Errorf("subscribe idv.>: %v, want a permissions violation", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("%s may subscribe to idv.>", user)
			}
		})
	}

	// The operators' user reaches the JetStream API; the system account's
	// user is not in the IDVBUS account at all.
	nc, err := nats.Connect(url, nats.UserInfo("idvctl", passwords["idvctl"]))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Request("$JS.API.INFO", nil, 5*time.Second); err != nil {
		t.Errorf("idvctl: $JS.API.INFO: %v", err)
	}
	if _, err := nats.Connect(url, nats.UserInfo("ingest", "wrong")); err == nil {
		t.Error("ingest connected with a wrong password")
	}
}

func fieldsString(e observer.LoggedEntry) string {
	var b strings.Builder
	for k, v := range e.ContextMap() {
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(strings.TrimSpace(strings.ReplaceAll(toString(v), "\n", " ")))
		b.WriteString(" ")
	}
	return b.String()
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case error:
		return x.Error()
	default:
		return ""
	}
}
