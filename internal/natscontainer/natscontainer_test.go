package natscontainer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idvbus/idvbus/internal/natscontainer"
)

const (
	streamName = "RESTART"
	subject    = "restart.msgs"
	msgCount   = 100

	// recoverTimeout bounds how long the client may take to reconnect and see
	// the stream again after the server restarts.
	recoverTimeout = 30 * time.Second
)

// TestAcknowledgedMessagesSurviveRestart publishes with Nats-Msg-Id, takes the
// server down (gracefully, or by SIGKILL as in a crash), brings the same
// container back, and checks with the connection that was open throughout:
// the client reconnects to the unchanged URL, every acknowledged message is
// still there, and the dedup window still recognises an id from before.
func TestAcknowledgedMessagesSurviveRestart(t *testing.T) {
	tests := []struct {
		name string
		down func(context.Context, *natscontainer.Server) error
	}{
		{"stop", func(ctx context.Context, s *natscontainer.Server) error { return s.Stop(ctx, 10*time.Second) }},
		{"kill", func(ctx context.Context, s *natscontainer.Server) error { return s.Kill(ctx) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := natscontainer.Start(t)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()

			reconnected := make(chan struct{}, 1)
			nc, err := nats.Connect(srv.URL(),
				nats.MaxReconnects(-1),
				nats.ReconnectWait(50*time.Millisecond),
				nats.ReconnectHandler(func(*nats.Conn) {
					select {
					case reconnected <- struct{}{}:
					default:
					}
				}))
			if err != nil {
				t.Fatalf("connect %s: %v", srv.URL(), err)
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			stream, err := js.CreateStream(ctx, jetstream.StreamConfig{
				Name:     streamName,
				Subjects: []string{subject},
				Storage:  jetstream.FileStorage,
				// Longer than the test, so the restart happens inside the window.
				Duplicates: time.Hour,
			})
			if err != nil {
				t.Fatalf("create stream: %v", err)
			}

			for i := range msgCount {
				ack, err := js.Publish(ctx, subject, payload(i), jetstream.WithMsgID(msgID(i)))
				if err != nil {
					t.Fatalf("publish %d: %v", i, err)
				}
				if ack.Duplicate || ack.Sequence != uint64(i+1) {
					t.Fatalf("publish %d: ack %+v, want sequence %d and not duplicate", i, ack, i+1)
				}
			}

			downAt := time.Now()
			if err := tt.down(ctx, srv); err != nil {
				t.Fatal(err)
			}
			upAt := time.Now()
			if err := srv.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s took %s, start until healthy %s", tt.name,
				upAt.Sub(downAt).Round(time.Millisecond), time.Since(upAt).Round(time.Millisecond))
			select {
			case <-reconnected:
			case <-time.After(recoverTimeout):
				t.Fatalf("client did not reconnect to %s within %s (status %s)", srv.URL(), recoverTimeout, nc.Status())
			}
			if got := nc.ConnectedUrl(); got != srv.URL() {
				t.Errorf("reconnected to %q, want the unchanged %q", got, srv.URL())
			}

			// Stream recovery may trail the health check: poll until the
			// stream answers, then demand every message.
			var info *jetstream.StreamInfo
			eventually(t, recoverTimeout, func() error {
				info, err = stream.Info(ctx)
				return err
			})
			if info.State.Msgs != msgCount || info.State.LastSeq != msgCount {
				t.Fatalf("after restart: %d messages, last seq %d; want %d and %d",
					info.State.Msgs, info.State.LastSeq, msgCount, msgCount)
			}
			for i := range msgCount {
				m, err := stream.GetMsg(ctx, uint64(i+1))
				if err != nil {
					t.Fatalf("get seq %d: %v", i+1, err)
				}
				if id := m.Header.Get(jetstream.MsgIDHeader); id != msgID(i) || string(m.Data) != string(payload(i)) {
					t.Fatalf("seq %d: id %q data %q; want %q %q", i+1, id, m.Data, msgID(i), payload(i))
				}
			}

			ack, err := js.Publish(ctx, subject, payload(42), jetstream.WithMsgID(msgID(42)))
			if err != nil {
				t.Fatalf("re-publish: %v", err)
			}
			if !ack.Duplicate || ack.Sequence != 43 {
				t.Errorf("re-publish of %s: ack %+v, want duplicate of sequence 43", msgID(42), ack)
			}
			if info, err := stream.Info(ctx); err != nil || info.State.Msgs != msgCount {
				t.Errorf("after re-publish: info %+v, err %v; want %d messages", info, err, msgCount)
			}
		})
	}
}

// TestImageAcceptsMaximalWebhook checks the image's nats.conf: a 1 MiB body
// (the ingest's default limit) plus headers must fit in one message, which
// the server default max_payload (1 MiB) would refuse.
func TestImageAcceptsMaximalWebhook(t *testing.T) {
	srv := natscontainer.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BIG", Subjects: []string{"big"}}); err != nil {
		t.Fatal(err)
	}
	msg := nats.NewMsg("big")
	msg.Data = make([]byte, 1<<20)
	msg.Header.Set("Webhook-Signature", strings.Repeat("s", 512))
	msg.Header.Set("Content-Type", "application/json")
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("publish 1 MiB body with headers (max_payload %d): %v", nc.MaxPayload(), err)
	}
}

// TestOptionsReachTheServer checks that WithServerName and WithArgs change the
// running server, and that flags are applied after the config file.
func TestOptionsReachTheServer(t *testing.T) {
	tests := []struct {
		name string
		opts []natscontainer.Option
		want string
	}{
		{"default", nil, "idvbus-nats"},
		{"server name", []natscontainer.Option{natscontainer.WithServerName("node-a")}, "node-a"},
		{"args override config", []natscontainer.Option{
			natscontainer.WithServerName("node-a"),
			natscontainer.WithArgs("--name", "node-b"),
		}, "node-b"},
		{"custom config", []natscontainer.Option{natscontainer.WithConfig(
			"server_name: custom\nlisten: 0.0.0.0:4222\nhttp: 0.0.0.0:8222\njetstream { store_dir: /data }\n",
		)}, "custom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := natscontainer.Start(t, tt.opts...)
			var varz struct {
				ServerName string `json:"server_name"`
			}
			if err := getJSON(t.Context(), srv.MonitorURL()+"/varz", &varz); err != nil {
				t.Fatal(err)
			}
			if varz.ServerName != tt.want {
				t.Errorf("server_name %q, want %q", varz.ServerName, tt.want)
			}
		})
	}
}

func msgID(i int) string   { return fmt.Sprintf("msg-%03d", i) }
func payload(i int) []byte { return []byte(fmt.Sprintf(`{"n":%d}`, i)) }

// eventually calls f until it returns nil, failing t if it has not by timeout.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %v", timeout, err)
		}
		<-tick.C
	}
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(url + ": " + resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
