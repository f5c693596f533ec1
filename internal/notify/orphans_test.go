package notify_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// TestOrphansNamesUnconfiguredSubscribers: a subscriber removed from the
// config leaves its consumer (and its place) in JetStream; the notifier
// names it, and leaves other consumers of IDV_EVENTS alone.
func TestOrphansNamesUnconfiguredSubscribers(t *testing.T) {
	s := newStack(t)
	rc := newReceiver(t, secretNew, nil)
	r := s.run(t, subscriber("kept", rc.srv.URL), subscriber("removed", rc.srv.URL))
	r.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, _, _ := s.newNotifier(t, s.b, zaptest.NewLogger(t), subscriber("kept", rc.srv.URL))
	got, err := n.Orphans(ctx, func(ctx context.Context, stream string) ([]string, error) {
		names, err := s.b.ConsumerNames(ctx, stream)
		return append(names, "kyc-service"), err // a user's own consumer is not ours
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"notify-removed"}) {
		t.Fatalf("orphans %v, want [notify-removed]", got)
	}
}
