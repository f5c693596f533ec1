package bus_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func dbgInfo(t *testing.T, url string) {
	nc, _ := nats.Connect(url)
	defer nc.Close()
	js, _ := jetstream.New(nc)
	c, err := js.Consumer(context.Background(), "IDV_EVENTS", workDurable)
	if err != nil {
		t.Log(err)
		return
	}
	i := c.CachedInfo()
	t.Logf("waiting %d ackpending %d redelivered %d pending %d delivered %+v ackfloor %+v", i.NumWaiting, i.NumAckPending, i.NumRedelivered, i.NumPending, i.Delivered, i.AckFloor)
}
