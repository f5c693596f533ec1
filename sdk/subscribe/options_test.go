package subscribe_test

import (
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/sdk/idv"
	"github.com/idvbus/idvbus/sdk/subscribe"
)

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    subscribe.Options
		want string // "" for valid; else a part of the error
	}{
		{"minimal", subscribe.Options{Durable: "billing"}, ""},
		{"full", subscribe.Options{Durable: "kyc_sync-2", Filter: idv.Filter{Vendors: []string{"persona"}, Checks: []idv.Check{"selfie"}},
			Concurrency: 8, AckWait: time.Minute, Backoff: []time.Duration{time.Second}, MaxDeliveries: 5,
			MaxAckPending: 100, StartTime: time.Now(), ShutdownTimeout: time.Second}, ""},
		{"no durable", subscribe.Options{}, "durable: required"},
		{"durable with a dot", subscribe.Options{Durable: "billing.v2"}, "durable:"},
		{"durable upper case", subscribe.Options{Durable: "Billing"}, "durable:"},
		{"durable too long", subscribe.Options{Durable: strings.Repeat("a", 65)}, "durable:"},
		{"the notifier's durable", subscribe.Options{Durable: "notify-acme"}, "notifier"},
		{"bad filter", subscribe.Options{Durable: "b", Filter: idv.Filter{Statuses: []idv.Status{"approvd"}}}, "filter: statuses"},
		{"negative concurrency", subscribe.Options{Durable: "b", Concurrency: -1}, "concurrency"},
		{"short ack wait", subscribe.Options{Durable: "b", AckWait: 500 * time.Millisecond}, "ack wait"},
		{"zero backoff", subscribe.Options{Durable: "b", Backoff: []time.Duration{time.Second, 0}}, "backoff[1]"},
		{"negative max deliveries", subscribe.Options{Durable: "b", MaxDeliveries: -1}, "max deliveries"},
		{"negative max ack pending", subscribe.Options{Durable: "b", MaxAckPending: -1}, "max ack pending"},
		{"two starts", subscribe.Options{Durable: "b", DeliverAll: true, StartTime: time.Now()}, "at most one"},
		{"negative shutdown", subscribe.Options{Durable: "b", ShutdownTimeout: -time.Second}, "shutdown timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := subscribe.New(nil, subscribe.Options{Durable: "b"}); err == nil {
		t.Fatal("New accepted a nil JetStream")
	}
}
