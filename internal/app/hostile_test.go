package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/apptest"
	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

// The hostile-input table (issue 16): every case is sent as raw bytes over
// TCP, to the all-in-one (embedded JetStream) and to a stand-alone ingest
// against a separate JetStream, and must get its answer, close the
// connection where the framing or an unread body demands it (nothing sent
// after it is answered), and store nothing unless it is a genuine webhook.
// A flood of forged maximum-size bodies, thousands of idle connections and
// slow clients follow; the process's RSS must stay within a generous bound.

// hostileRSSGrowth bounds how much the test process's RSS may grow during
// the attacks. It is a sanity bound, not a benchmark: without the in-flight
// body budget the flood alone holds hostileFlood MiB of bodies (and Go's
// buffer growth roughly doubles that); with it, ingest holds at most
// max_inflight_body_bytes (64 MiB).
const (
	hostileFlood     = 400
	hostileIdle      = 2000
	hostileRSSGrowth = 256 << 20
)

var hostileSecrets = struct{ persona, hmac, whsec, password, bearer, token string }{
	"wbhsec_hostile_persona", "hostile-hmac-key", "whsec_" + base64.StdEncoding.EncodeToString([]byte("hostile-standard-webhooks-key")),
	"hostile-password", "hostile-bearer-token", "hostile-static-token",
}

func hostileSources() []config.Source {
	s := hostileSecrets
	return []config.Source{
		{Name: "persona", Vendor: "persona", Auth: webhookauth.Config{Type: webhookauth.TypePersona, Secrets: []string{s.persona}}},
		{Name: "sumsub", Vendor: "sumsub", Auth: webhookauth.Config{Type: webhookauth.TypeHMAC, Header: "X-Payload-Digest", Secrets: []string{s.hmac}}},
		{Name: "stripe", Vendor: "stripe", Auth: webhookauth.Config{Type: webhookauth.TypeStandardWebhooks, Secrets: []string{s.whsec}}},
		{Name: "idwise", Vendor: "idwise", Auth: webhookauth.Config{Type: webhookauth.TypeBasic, Username: "idwise", Secrets: []string{s.password}}},
		{Name: "bearer-src", Vendor: "incode", Auth: webhookauth.Config{Type: webhookauth.TypeBearer, Secrets: []string{s.bearer}}},
		{Name: "incode", Vendor: "incode", Auth: webhookauth.Config{Type: webhookauth.TypeHeader, Header: "X-Webhook-Token", Secrets: []string{s.token}}},
		{Name: "credas", Vendor: "credas", Auth: webhookauth.Config{Type: webhookauth.TypeHeader, Header: "webhookAuth", Secrets: []string{s.token}, AllowIPs: []string{"203.0.113.0/24"}}},
	}
}

// hostileEnv is one running ingest under attack.
type hostileEnv struct {
	addr    string // host:port of the webhook listener
	js      jetstream.JetStream
	sources map[string]config.Source
	seq     atomic.Int64
}

func startHostile(t *testing.T, allInOne bool) *hostileEnv {
	cfg := config.Default()
	cfg.Log.Level = "error"
	cfg.Ingest.ReadHeaderTimeout = 2 * time.Second // the slow-client cases wait for it
	cfg.Ingest.ReadTimeout = 60 * time.Second      // longer than any answer deadline: a server waiting for a body fails the case
	cfg.Ingest.WriteTimeout = 70 * time.Second
	cfg.Sources = hostileSources()
	var natsURL string
	if allInOne {
		port := freePort(t)
		cfg.NATS.Embedded.Listen = "127.0.0.1:" + strconv.Itoa(port)
		cfg.NATS.Embedded.MonitorListen = ""
		cfg.NATS.Embedded.StoreDir = t.TempDir()
		natsURL = fmt.Sprintf("nats://127.0.0.1:%d", port)
	} else {
		js := natstest.RunJS(t)
		cfg.NATS.URL = js.URL()
		natsURL = js.URL()
	}
	cfg, _, err := config.Finish(cfg, config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	var base string
	if allInOne {
		base = apptest.RunAllInOne(t, cfg, zap.NewNop(), 60*time.Second).Webhooks
	} else {
		base = apptest.Run(t, "ingest", app.Ingest, cfg, nil, zap.NewNop(), 60*time.Second).Webhooks
	}
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	e := &hostileEnv{addr: strings.TrimPrefix(base, "http://"), js: js, sources: map[string]config.Source{}}
	for _, s := range cfg.Sources {
		e.sources[s.Name] = s
	}
	return e
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// stored is the number of raw webhooks in IDV_RAW.
func (e *hostileEnv) stored(t *testing.T) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := e.js.Stream(ctx, bus.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// body returns a new JSON body, unique per call so that nothing is a duplicate.
func (e *hostileEnv) body() string {
	n := e.seq.Add(1)
	return fmt.Sprintf(`{"data":{"type":"event","id":"evt_hostile_%d_%d","attributes":{"name":"inquiry.approved"}},"id":"evt_%d","eventId":"e%d"}`, n, time.Now().UnixNano(), n, n)
}

// sign returns the headers source's sender would send for body at at; with
// secret set, signed with that secret (or password, token) instead.
func (e *hostileEnv) sign(source, body string, at time.Time, secret string) http.Header {
	auth := e.sources[source].Auth
	if secret != "" {
		auth.Secrets = []string{secret}
	}
	auth.AllowIPs = nil
	h := http.Header{"Content-Type": {"application/json"}}
	if err := webhookauth.Sign(auth, h, []byte(body), at); err != nil {
		panic(err)
	}
	return h
}

// headLines writes h as header lines.
func headLines(h http.Header) string {
	var b strings.Builder
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	return b.String()
}

// post is a request for path with h and body, declaring declared bytes
// (-1: len(body)). Declaring more than is sent leaves the body unfinished.
func post(path string, h http.Header, body string, declared int) string {
	if declared < 0 {
		declared = len(body)
	}
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: idvbus\r\n%sContent-Length: %d\r\n\r\n%s", path, headLines(h), declared, body)
}

// unfinished declares 4 KiB more body than it sends: only a server that
// refuses before reading the body answers it before its read timeout.
func unfinished(path string, h http.Header, body string) string {
	return post(path, h, body, len(body)+4096)
}

// smuggle is a request that must never be answered: it follows a request
// whose answer must close the connection.
const smuggle = "GET /healthz HTTP/1.1\r\nHost: idvbus\r\n\r\n"

type hostileCase struct {
	name   string
	raw    func(e *hostileEnv) string
	want   int
	closed bool // the connection is closed after the answer; nothing after it is answered
	stored bool // a genuine webhook: stored once
}

func hostileCases() []hostileCase {
	now := time.Now
	s := hostileSecrets
	genuine := func(source string) func(e *hostileEnv) string {
		return func(e *hostileEnv) string {
			b := e.body()
			return post("/webhooks/"+source, e.sign(source, b, now(), ""), b, -1)
		}
	}
	// refusedUnread: the headers alone refuse it, so the body is never read
	// and the connection is closed after the 401.
	refusedUnread := func(source string, h func(e *hostileEnv, body string) http.Header) func(e *hostileEnv) string {
		return func(e *hostileEnv) string {
			b := e.body()
			return unfinished("/webhooks/"+source, h(e, b), b) + smuggle
		}
	}
	forged := func(source, secret string) func(e *hostileEnv) string {
		return func(e *hostileEnv) string {
			b := e.body()
			return post("/webhooks/"+source, e.sign(source, b, now(), secret), b, -1)
		}
	}
	signedAt := func(source string, d time.Duration) func(e *hostileEnv, body string) http.Header {
		return func(e *hostileEnv, body string) http.Header { return e.sign(source, body, now().Add(d), "") }
	}
	withHeader := func(source, k, v string) func(e *hostileEnv, body string) http.Header {
		return func(e *hostileEnv, body string) http.Header {
			h := e.sign(source, body, now(), "")
			h.Del(k)
			if v != "" {
				h.Set(k, v)
			}
			return h
		}
	}
	genuineRaw := func(source string, f func(body string, h http.Header) string) func(e *hostileEnv) string {
		return func(e *hostileEnv) string {
			b := e.body()
			return f(b, e.sign(source, b, now(), ""))
		}
	}
	chunked := func(path string, h http.Header, chunks string) string {
		return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: idvbus\r\n%sTransfer-Encoding: chunked\r\n\r\n%s", path, headLines(h), chunks)
	}
	const future, stale = 10 * time.Minute, -10 * time.Minute
	return []hostileCase{
		// Genuine webhooks of every auth type: the controls.
		{name: "persona genuine", raw: genuine("persona"), want: 200, stored: true},
		{name: "hmac genuine", raw: genuine("sumsub"), want: 200, stored: true},
		{name: "standard webhooks genuine", raw: genuine("stripe"), want: 200, stored: true},
		{name: "basic genuine", raw: genuine("idwise"), want: 200, stored: true},
		{name: "bearer genuine", raw: genuine("bearer-src"), want: 200, stored: true},
		{name: "header genuine", raw: genuine("incode"), want: 200, stored: true},
		{name: "genuine chunked body", raw: genuineRaw("incode", func(b string, h http.Header) string {
			return chunked("/webhooks/incode", h, fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(b), b))
		}), want: 200, stored: true},
		{name: "genuine deep JSON is stored (the normalizer dead-letters it)", raw: func(e *hostileEnv) string {
			b := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
			return post("/webhooks/persona", e.sign("persona", b, now(), ""), b, -1)
		}, want: 200, stored: true},
		{name: "genuine invalid UTF-8 is stored", raw: func(e *hostileEnv) string {
			b := "\xff\xfe" + e.body() + "\xc3\x28"
			return post("/webhooks/persona", e.sign("persona", b, now(), ""), b, -1)
		}, want: 200, stored: true},

		// Forged signatures: the body has to be read to tell.
		{name: "persona forged", raw: forged("persona", "wrong-secret"), want: 401},
		{name: "hmac forged", raw: forged("sumsub", "wrong-key"), want: 401},
		{name: "standard webhooks forged", raw: forged("stripe", "whsec_"+base64.StdEncoding.EncodeToString([]byte("wrong"))), want: 401},
		{name: "persona signature of another body", raw: func(e *hostileEnv) string {
			b := e.body()
			return post("/webhooks/persona", e.sign("persona", e.body(), now(), ""), b, -1)
		}, want: 401},

		// Refused on the headers alone: answered at once, body unread, connection closed.
		{name: "persona stale", raw: refusedUnread("persona", signedAt("persona", stale)), want: 401, closed: true},
		{name: "persona future", raw: refusedUnread("persona", signedAt("persona", future)), want: 401, closed: true},
		{name: "persona missing signature", raw: refusedUnread("persona", withHeader("persona", "Persona-Signature", "")), want: 401, closed: true},
		{name: "persona malformed", raw: refusedUnread("persona", withHeader("persona", "Persona-Signature", "t=,v1")), want: 401, closed: true},
		{name: "persona v1 not hex", raw: refusedUnread("persona", withHeader("persona", "Persona-Signature", fmt.Sprintf("t=%d,v1=%s", time.Now().Unix(), strings.Repeat("zz", 32)))), want: 401, closed: true},
		{name: "persona 17 signatures", raw: refusedUnread("persona", withHeader("persona", "Persona-Signature", strings.TrimSpace(strings.Repeat(fmt.Sprintf("t=%d,v1=%s ", time.Now().Unix(), strings.Repeat("ab", 32)), 17)))), want: 401, closed: true},
		{name: "persona timestamp with a sign", raw: refusedUnread("persona", withHeader("persona", "Persona-Signature", "t=-1,v1="+strings.Repeat("ab", 32))), want: 401, closed: true},
		{name: "hmac missing signature", raw: refusedUnread("sumsub", withHeader("sumsub", "X-Payload-Digest", "")), want: 401, closed: true},
		{name: "hmac wrong length", raw: refusedUnread("sumsub", withHeader("sumsub", "X-Payload-Digest", strings.Repeat("ab", 20))), want: 401, closed: true},
		{name: "hmac not hex", raw: refusedUnread("sumsub", withHeader("sumsub", "X-Payload-Digest", strings.Repeat("g", 64))), want: 401, closed: true},
		{name: "standard webhooks stale", raw: refusedUnread("stripe", signedAt("stripe", stale)), want: 401, closed: true},
		{name: "standard webhooks future", raw: refusedUnread("stripe", signedAt("stripe", future)), want: 401, closed: true},
		{name: "standard webhooks missing id", raw: refusedUnread("stripe", withHeader("stripe", "Webhook-Id", "")), want: 401, closed: true},
		{name: "standard webhooks malformed timestamp", raw: refusedUnread("stripe", withHeader("stripe", "Webhook-Timestamp", "12abc")), want: 401, closed: true},
		{name: "standard webhooks only v1a", raw: refusedUnread("stripe", withHeader("stripe", "Webhook-Signature", "v1a,"+strings.Repeat("A", 86))), want: 401, closed: true},
		{name: "basic wrong password", raw: refusedUnread("idwise", func(e *hostileEnv, b string) http.Header { return e.sign("idwise", b, now(), "nope") }), want: 401, closed: true},
		{name: "basic wrong user", raw: refusedUnread("idwise", withHeader("idwise", "Authorization", webhookauth.FormatBasicAuthorization("root", s.password))), want: 401, closed: true},
		{name: "basic bad base64", raw: refusedUnread("idwise", withHeader("idwise", "Authorization", "Basic !!!")), want: 401, closed: true},
		{name: "basic with a bearer token", raw: refusedUnread("idwise", withHeader("idwise", "Authorization", "Bearer "+s.password)), want: 401, closed: true},
		{name: "bearer wrong token", raw: refusedUnread("bearer-src", func(e *hostileEnv, b string) http.Header { return e.sign("bearer-src", b, now(), "nope") }), want: 401, closed: true},
		{name: "bearer missing", raw: refusedUnread("bearer-src", withHeader("bearer-src", "Authorization", "")), want: 401, closed: true},
		{name: "header wrong token", raw: refusedUnread("incode", func(e *hostileEnv, b string) http.Header { return e.sign("incode", b, now(), "nope") }), want: 401, closed: true},
		{name: "header missing", raw: refusedUnread("incode", withHeader("incode", "X-Webhook-Token", "")), want: 401, closed: true},
		{name: "address not in allow_ips", raw: refusedUnread("credas", func(e *hostileEnv, b string) http.Header { return e.sign("credas", b, now(), "") }), want: 401, closed: true},
		{name: "expect 100-continue with a stale signature", raw: func(e *hostileEnv) string {
			h := e.sign("persona", e.body(), now().Add(stale), "")
			h.Set("Expect", "100-continue")
			return post("/webhooks/persona", h, "", 1000) // the body is never sent: no 100 Continue comes
		}, want: 401, closed: true},
		{name: "HTTP/1.0 forged", raw: func(e *hostileEnv) string {
			b := e.body()
			return strings.Replace(post("/webhooks/persona", e.sign("persona", b, now(), "x"), b, -1), "HTTP/1.1", "HTTP/1.0", 1)
		}, want: 401},

		// Framing ambiguities (request smuggling): 400 and closed, even when signed.
		{name: "content-length and transfer-encoding", raw: genuineRaw("persona", func(b string, h http.Header) string {
			return fmt.Sprintf("POST /webhooks/persona HTTP/1.1\r\nHost: idvbus\r\n%sContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", headLines(h), len(b), len(b), b) + smuggle
		}), want: 400, closed: true},
		{name: "transfer-encoding then content-length", raw: genuineRaw("persona", func(b string, h http.Header) string {
			return fmt.Sprintf("POST /webhooks/persona HTTP/1.1\r\nHost: idvbus\r\n%sTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", headLines(h), len(b), b) + smuggle
		}), want: 400, closed: true},
		{name: "content-length twice, same value", raw: genuineRaw("persona", func(b string, h http.Header) string {
			return strings.Replace(post("/webhooks/persona", h, b, -1), "Content-Length:", fmt.Sprintf("Content-Length: %d\r\nContent-Length:", len(b)), 1) + smuggle
		}), want: 400, closed: true},
		{name: "content-length twice, different values", raw: genuineRaw("persona", func(b string, h http.Header) string {
			return strings.Replace(post("/webhooks/persona", h, b, -1), "Content-Length:", "Content-Length: 3\r\nContent-Length:", 1) + smuggle
		}), want: 400, closed: true},
		{name: "obs-fold", raw: genuineRaw("persona", func(b string, h http.Header) string {
			return strings.Replace(post("/webhooks/persona", h, b, -1), "Host: idvbus\r\n", "Host: idvbus\r\nX-Folded: a\r\n b\r\n", 1) + smuggle
		}), want: 400, closed: true},
		{name: "obs-fold carrying the content-length", raw: genuineRaw("incode", func(b string, h http.Header) string {
			return strings.Replace(post("/webhooks/incode", h, b, -1), "Content-Length: ", "Content-Length:\r\n ", 1) + smuggle
		}), want: 400, closed: true},
		{name: "bad chunk size", raw: genuineRaw("incode", func(b string, h http.Header) string {
			return chunked("/webhooks/incode", h, "zz\r\n"+b+"\r\n0\r\n\r\n") + smuggle
		}), want: 400, closed: true},
		{name: "chunk size overflow", raw: genuineRaw("incode", func(b string, h http.Header) string {
			return chunked("/webhooks/incode", h, "ffffffffffffffffff\r\n"+b+"\r\n0\r\n\r\n") + smuggle
		}), want: 400, closed: true},
		{name: "chunk line with bare LF", raw: genuineRaw("incode", func(b string, h http.Header) string {
			return chunked("/webhooks/incode", h, fmt.Sprintf("%x\n%s\n0\n\n", len(b), b)) + smuggle
		}), want: 400, closed: true},
		{name: "unsupported transfer-encoding", raw: genuineRaw("incode", func(b string, h http.Header) string {
			return strings.Replace(chunked("/webhooks/incode", h, "0\r\n\r\n"), "chunked", "gzip, chunked", 1) + smuggle
		}), want: 501, closed: true},
		{name: "content-length with a plus sign", raw: genuineRaw("incode", func(b string, h http.Header) string {
			return strings.Replace(post("/webhooks/incode", h, b, -1), "Content-Length: ", "Content-Length: +", 1) + smuggle
		}), want: 400, closed: true},

		// Header abuse.
		{name: "header injection: CR inside a value", raw: genuineRaw("incode", func(b string, h http.Header) string {
			return strings.Replace(post("/webhooks/incode", h, b, -1), "Host: idvbus\r\n", "Host: idvbus\r\nX-Note: a\rSet-Cookie: x=1\r\n", 1) + smuggle
		}), want: 400, closed: true},
		{name: "header injection: NUL inside a value", raw: genuineRaw("incode", func(b string, h http.Header) string {
			return strings.Replace(post("/webhooks/incode", h, b, -1), "Host: idvbus\r\n", "Host: idvbus\r\nX-Note: a\x00b\r\n", 1) + smuggle
		}), want: 400, closed: true},
		{name: "space before the colon", raw: genuineRaw("incode", func(b string, h http.Header) string {
			return strings.Replace(post("/webhooks/incode", h, b, -1), "X-Webhook-Token:", "X-Webhook-Token :", 1) + smuggle
		}), want: 400, closed: true},
		{name: "one huge header", raw: genuineRaw("incode", func(b string, h http.Header) string {
			h.Set("X-Huge", strings.Repeat("a", 100<<10))
			return post("/webhooks/incode", h, b, -1) + smuggle
		}), want: 431, closed: true},
		{name: "thousands of headers", raw: genuineRaw("incode", func(b string, h http.Header) string {
			for i := range 3000 {
				h.Set(fmt.Sprintf("X-H%d", i), "0123456789012345678901234567890")
			}
			return post("/webhooks/incode", h, b, -1) + smuggle
		}), want: 431, closed: true},
		{name: "huge basic credentials", raw: refusedUnread("idwise", withHeader("idwise", "Authorization", webhookauth.FormatBasicAuthorization("idwise", strings.Repeat("p", 40<<10)))), want: 401, closed: true},
		{name: "garbage request line", raw: func(*hostileEnv) string { return "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n" }, want: 400, closed: true},

		// Bodies.
		{name: "declared body over the limit", raw: func(e *hostileEnv) string {
			b := e.body()
			return post("/webhooks/incode", e.sign("incode", b, now(), ""), b, 2<<20) + smuggle
		}, want: 413, closed: true},
		{name: "chunked body over the limit", raw: func(e *hostileEnv) string {
			h := e.sign("incode", "", now(), "")
			chunk := strings.Repeat("x", 256<<10)
			return chunked("/webhooks/incode", h, strings.Repeat(fmt.Sprintf("%x\r\n%s\r\n", len(chunk), chunk), 5)+"0\r\n\r\n") + smuggle
		}, want: 413, closed: true},
		{name: "empty body", raw: func(e *hostileEnv) string {
			return post("/webhooks/incode", e.sign("incode", "", now(), ""), "", -1)
		}, want: 400},
		{name: "forged deep JSON", raw: func(e *hostileEnv) string {
			b := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
			return post("/webhooks/persona", e.sign("persona", b, now(), "wrong"), b, -1)
		}, want: 401},

		// Odd source names and routes.
		{name: "unknown source", raw: genuineRaw("incode", func(b string, h http.Header) string { return post("/webhooks/nope", h, b, -1) }), want: 404},
		{name: "source name in capitals", raw: genuineRaw("incode", func(b string, h http.Header) string { return post("/webhooks/INCODE", h, b, -1) }), want: 404},
		{name: "source name with NUL", raw: genuineRaw("incode", func(b string, h http.Header) string { return post("/webhooks/incode%00", h, b, -1) }), want: 404},
		{name: "source name with encoded slash", raw: genuineRaw("incode", func(b string, h http.Header) string { return post("/webhooks/..%2fincode", h, b, -1) }), want: 404},
		{name: "the metrics label of unknown sources", raw: genuineRaw("incode", func(b string, h http.Header) string { return post("/webhooks/_unknown", h, b, -1) }), want: 404},
		{name: "very long source name", raw: genuineRaw("incode", func(b string, h http.Header) string { return post("/webhooks/"+strings.Repeat("a", 4000), h, b, -1) }), want: 404},
		{name: "sub-path of a source", raw: genuineRaw("incode", func(b string, h http.Header) string { return post("/webhooks/incode/x", h, b, -1) }), want: 404},
		{name: "GET on the webhook route", raw: func(*hostileEnv) string { return "GET /webhooks/incode HTTP/1.1\r\nHost: idvbus\r\n\r\n" }, want: 405},
	}
}

func TestHostileInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts JetStream twice and sends thousands of connections")
	}
	cases := hostileCases()
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, mode := range []struct {
		name     string
		allInOne bool
	}{{"all-in-one", true}, {"separate services", false}} {
		t.Run(mode.name, func(t *testing.T) {
			rssBefore := vmRSS(t)
			e := startHostile(t, mode.allInOne)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					before := e.stored(t)
					code, _, closed := e.exchange(t, "", tc.raw(e), tc.closed)
					if code != tc.want {
						t.Fatalf("answered %d, want %d", code, tc.want)
					}
					if tc.closed && !closed {
						t.Fatal("the connection stayed open after the answer (the bytes after the request could be read as another one)")
					}
					want := before
					if tc.stored {
						want++
					}
					if got := e.stored(t); got != want {
						t.Fatalf("IDV_RAW holds %d messages, want %d", got, want)
					}
				})
			}
			t.Run("flood of forged maximum-size bodies", func(t *testing.T) { e.flood(t) })
			t.Run("thousands of idle connections", func(t *testing.T) { e.idle(t) })
			t.Run("slowloris headers", func(t *testing.T) { e.slowloris(t) })
			if grown := vmRSS(t) - rssBefore; grown > hostileRSSGrowth {
				t.Errorf("RSS grew %d MiB under attack, bound %d MiB", grown>>20, hostileRSSGrowth>>20)
			} else {
				t.Logf("RSS grew %d MiB (bound %d MiB)", grown>>20, hostileRSSGrowth>>20)
			}
		})
	}
}

// exchange sends raw on a new connection (from local, "" for any address)
// and reads the first answer. With checkClosed it then waits for the server
// to close the connection: closed is false if anything more was answered or
// the connection stayed open.
func (e *hostileEnv) exchange(t *testing.T, local, raw string, checkClosed bool) (code int, retryAfter string, closed bool) {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() { _, _ = io.WriteString(c, raw) }() // the server may answer before it read everything
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if checkClosed {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err := br.ReadByte()
		var ne net.Error
		closed = err != nil && !(errors.As(err, &ne) && ne.Timeout())
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), closed
}

// flood opens hostileFlood connections from 127.0.0.2, each a forged Persona
// webhook declaring 1 MiB and sending all but its last byte. Beyond the
// per-address budget they must be answered 503 with Retry-After at once,
// while a genuine webhook from 127.0.0.1 is still stored.
func (e *hostileEnv) flood(t *testing.T) {
	probe, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).Dial("tcp", e.addr)
	if err != nil {
		t.Skipf("cannot send from 127.0.0.2: %v", err)
	}
	probe.Close()
	const size = 1 << 20
	body := bytes.Repeat([]byte{'x'}, size-1) // one buffer, shared: the test process must not hold the flood's bytes itself
	var (
		mu     sync.Mutex
		codes  = map[string]int{}
		conns  []net.Conn
		wg     sync.WaitGroup
		answer = make(chan struct{}, hostileFlood)
	)
	for range hostileFlood {
		c, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 10 * time.Second}).Dial("tcp", e.addr)
		if err != nil {
			t.Fatalf("flood connection: %v", err)
		}
		conns = append(conns, c)
		wg.Add(2)
		go func() {
			defer wg.Done()
			head := fmt.Sprintf("POST /webhooks/persona HTTP/1.1\r\nHost: idvbus\r\nPersona-Signature: t=%d,v1=%s\r\nContent-Length: %d\r\n\r\n",
				time.Now().Unix(), strings.Repeat("ab", 32), size)
			if _, err := io.WriteString(c, head); err == nil {
				_, _ = c.Write(body)
			}
		}()
		go func() {
			defer wg.Done()
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			// "closed": the server closed without an answer we could read. It
			// answers 503 and closes at once, so on a loaded machine the reset
			// of the unread body can overtake the answer before it is read.
			key := "closed"
			if err == nil {
				resp.Body.Close()
				key = strconv.Itoa(resp.StatusCode)
				if resp.StatusCode == 503 && resp.Header.Get("Retry-After") == "" {
					key = "503 without Retry-After"
				}
			}
			answer <- struct{}{}
			mu.Lock()
			codes[key]++
			mu.Unlock()
		}()
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	// All but the per-address budget's worth (8 bodies of 1 MiB) are refused
	// at once: ReadTimeout (60 s) is not over when they are counted.
	admitted := int(config.DefaultMaxInflightBodyBytesPerIP / size)
	deadline := time.After(60 * time.Second)
	for range hostileFlood - admitted {
		select {
		case <-answer:
		case <-deadline:
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("flood answers after 60 s: %v; want %d answered 503 at once", codes, hostileFlood-admitted)
		}
	}
	b := e.body()
	code, _, _ := e.exchange(t, "127.0.0.1", post("/webhooks/incode", e.sign("incode", b, time.Now(), ""), b, -1), false)
	if code != 200 {
		t.Fatalf("genuine webhook during the flood answered %d, want 200", code)
	}
	mu.Lock()
	defer mu.Unlock()
	if codes["503"]+codes["closed"] != hostileFlood-admitted || codes["503"] == 0 {
		t.Fatalf("flood answers %v, want %d refused at once with 503 and Retry-After (or closed)", codes, hostileFlood-admitted)
	}
	t.Logf("flood answers %v", codes)
}

// idle opens hostileIdle connections that send nothing; a genuine webhook
// must still be stored.
func (e *hostileEnv) idle(t *testing.T) {
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range hostileIdle {
		c, err := net.DialTimeout("tcp", e.addr, 10*time.Second)
		if err != nil {
			t.Fatalf("idle connection %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	before := e.stored(t)
	b := e.body()
	if code, _, _ := e.exchange(t, "", post("/webhooks/incode", e.sign("incode", b, time.Now(), ""), b, -1), false); code != 200 {
		t.Fatalf("genuine webhook next to %d idle connections answered %d", hostileIdle, code)
	}
	if e.stored(t) != before+1 {
		t.Fatal("genuine webhook not stored")
	}
}

// slowloris sends a head one header line at a time, slower than
// read_header_timeout (2 s here) allows in all: the server must cut it off
// without answering 2xx and store nothing.
func (e *hostileEnv) slowloris(t *testing.T) {
	before := e.stored(t)
	c, err := net.DialTimeout("tcp", e.addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cut := make(chan error, 1)
	go func() {
		_, err := io.WriteString(c, "POST /webhooks/incode HTTP/1.1\r\nHost: idvbus\r\n")
		for i := 0; err == nil && i < 120; i++ { // at most a minute
			time.Sleep(500 * time.Millisecond) // the attack's pace, not a wait for a result
			_, err = fmt.Fprintf(c, "X-Slow-%d: 1\r\n", i)
		}
		cut <- err
	}()
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("slow head answered %d", resp.StatusCode)
		}
	} else {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the server kept a slow head open for a minute")
		}
	}
	c.Close()
	if err := <-cut; err == nil {
		t.Error("the slow writer sent every header line: the server never cut it off")
	}
	if e.stored(t) != before {
		t.Fatal("a slow head was stored")
	}
}

// vmRSS is this process's resident set size in bytes.
func vmRSS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}
