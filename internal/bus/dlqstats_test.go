package bus_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
)

// TestDLQStoredCountsPerStageAndName: the counts follow what IDV_DLQ holds,
// per subject, including a second copy of a name and nothing for an empty stream.
func TestDLQStoredCountsPerStageAndName(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	srv := natstest.RunJS(t)
	cfg := config.Default().JetStream
	cfg.Storage = "memory"
	b := srv.Bus(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	got, err := b.DLQStored(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty IDV_DLQ: %v, %v; want none", got, err)
	}
	for i, d := range []bus.DeadLetter{
		{Stage: bus.StageNormalize, Name: "persona", OriginalSeq: 1},
		{Stage: bus.StageNotify, Name: "onboarding", OriginalSeq: 7},
		{Stage: bus.StageNormalize, Name: "persona", OriginalSeq: 2},
		{Stage: bus.StageNormalize, Name: "incode", OriginalSeq: 3},
	} {
		d.Reason, d.OriginalStream, d.OriginalSubject, d.Body = "test", bus.StreamRaw, "idv.raw.x.y", []byte{'{', '}'}
		if err := b.PublishDLQ(ctx, d); err != nil {
			t.Fatalf("dead letter %d: %v", i, err)
		}
	}
	got, err = b.DLQStored(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []bus.DLQCount{
		{Stage: "normalize", Name: "incode", Messages: 1},
		{Stage: "normalize", Name: "persona", Messages: 2},
		{Stage: "notify", Name: "onboarding", Messages: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DLQStored = %+v, want %+v", got, want)
	}
}
