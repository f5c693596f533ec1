package bus_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
)

// freeAddr is a loopback address nothing listens on (it was free a moment ago).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// TestUnreachableNATSSaysWhereAndWhy: with no server at the URL, the retry
// log line and a publish's error name the URL without its credentials and
// the cause, not nats.go's "outbound buffer limit exceeded".
func TestUnreachableNATSSaysWhereAndWhy(t *testing.T) {
	addr := freeAddr(t)
	core, logs := observer.New(zap.WarnLevel)
	cfg := config.NATS{URL: "nats://idvbus:s3cret@" + addr, ConnectTimeout: 2 * time.Second}
	nc, err := bus.Connect(cfg, "test", zap.New(core))
	if err != nil {
		t.Fatalf("Connect retries in the background, it must not fail: %v", err)
	}
	defer nc.Close()
	wantURL := "nats://***@" + addr

	deadline := time.Now().Add(30 * time.Second)
	for logs.FilterMessageSnippet("cannot connect to NATS").Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no log line about the failed connection")
		}
		time.Sleep(20 * time.Millisecond)
	}
	line := logs.FilterMessageSnippet("cannot connect to NATS").All()[0]
	fields := line.ContextMap()
	if fields["url"] != wantURL || fields["cause"] != "connection refused" || !strings.Contains(line.Message, "IDVBUS_NATS_URL") {
		t.Errorf("log line %q %v: want url %q, cause connection refused and the setting", line.Message, fields, wantURL)
	}

	b, err := bus.New(nc, config.Default().JetStream, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = b.PublishRaw(ctx, bus.RawMessage{Source: "s", Vendor: "persona", MsgID: "s:1", ReceivedAt: time.Now(), Body: []byte("{}")})
	want := "not connected to NATS at " + wantURL + " (connection refused)"
	if err == nil || !errors.Is(err, bus.ErrNotConnected) || !strings.Contains(err.Error(), want) {
		t.Errorf("publish: %v; want it to contain %q", err, want)
	}
	if err != nil && (strings.Contains(err.Error(), "outbound buffer") || strings.Contains(err.Error(), "s3cret")) {
		t.Errorf("publish: %v: the buffer message or the password", err)
	}
	if err := b.Ready(ctx); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Ready: %v; want it to contain %q", err, want)
	}
	for _, l := range logs.All() {
		if strings.Contains(l.Message, "s3cret") || strings.Contains(l.ContextMap()["url"].(string), "s3cret") {
			t.Errorf("a log line holds the password: %v", l)
		}
	}
}

// TestConnectWithoutRetrySaysWhereAndWhy: idvctl's way (no background
// retry) fails at once with the URL and the cause.
func TestConnectWithoutRetrySaysWhereAndWhy(t *testing.T) {
	addr := freeAddr(t)
	cfg := config.NATS{URL: "nats://u:p@" + addr, ConnectTimeout: 2 * time.Second}
	nc, err := bus.Connect(cfg, "test", zap.NewNop(), nats.RetryOnFailedConnect(false))
	if err == nil {
		nc.Close()
		t.Fatal("connected to nothing")
	}
	want := "connect to NATS at nats://***@" + addr + ": connection refused"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestCause(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Name: "nats.invalid", Err: "no such host", IsNotFound: true}}, "no such host nats.invalid"},
		{nats.ErrAuthorization, "authorization failed: check nats.user/password, token, nkey_seed_file or creds_file"},
		{errors.New("nats: authorization violation"), "authorization failed: check nats.user/password, token, nkey_seed_file or creds_file"},
		{nats.ErrTimeout, "timed out"},
		{errors.New("something else"), "something else"},
	} {
		if got := bus.Cause(tc.err); got != tc.want {
			t.Errorf("Cause(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	got := bus.RedactURL("nats://u:p@n1:4222,nats://n2:4222")
	if got != "nats://***@n1:4222,nats://n2:4222" {
		t.Fatalf("got %q", got)
	}
}
