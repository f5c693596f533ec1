package ingest

import (
	"net/netip"
	"testing"
	"time"
)

func TestRefusalSamplerKeepsFirstOfEveryPair(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newRefusalSampler(10*time.Second, 2, func() time.Time { return now })
	logged := func(source, reason string) (bool, int) { return s.allow(source, reason) }

	// A flood of forged Persona signatures...
	for i := range 3000 {
		ok, _ := logged("persona", "signature_mismatch")
		if ok != (i < 2) {
			t.Fatalf("flood refusal %d logged = %v, want only the first 2", i, ok)
		}
	}
	// ...does not hide another source's first mismatch, nor another reason of the same source.
	if ok, _ := logged("incode", "signature_mismatch"); !ok {
		t.Fatal("first refusal of another source was dropped")
	}
	if ok, _ := logged("persona", "timestamp_out_of_tolerance"); !ok {
		t.Fatal("first refusal of another reason was dropped")
	}
	// The next window logs again and says how many lines were left out.
	now = now.Add(10 * time.Second)
	ok, dropped := logged("persona", "signature_mismatch")
	if !ok || dropped != 2998 {
		t.Fatalf("next window: logged %v, suppressed %d; want true, 2998", ok, dropped)
	}
	if ok, dropped := logged("persona", "signature_mismatch"); !ok || dropped != 0 {
		t.Fatalf("second line of the window: logged %v, suppressed %d; want true, 0", ok, dropped)
	}
}

func TestBudgetBoundsTotalAndPerAddress(t *testing.T) {
	a, b, c := mustAddr("192.0.2.1"), mustAddr("192.0.2.2"), mustAddr("192.0.2.3")
	var gauge int64
	bud := newBudget(100, 60, func(n int64) { gauge = n })
	la := bud.acquire(a, 60)
	if la == nil || gauge != 60 {
		t.Fatalf("first 60 bytes refused (gauge %d)", gauge)
	}
	if bud.acquire(a, 1) != nil {
		t.Fatal("address a got more than its 60")
	}
	lb := bud.acquire(b, 40)
	if lb == nil {
		t.Fatal("address b refused while the total had room")
	}
	if bud.acquire(c, 1) != nil {
		t.Fatal("total of 100 exceeded")
	}
	if lb.grow(1) {
		t.Fatal("a lease grew past the total")
	}
	la.release()
	la.release() // idempotent
	if gauge != 40 {
		t.Fatalf("gauge %d after release, want 40", gauge)
	}
	if l := bud.acquire(c, 60); l == nil {
		t.Fatal("released bytes not available again")
	}
	if len(bud.byIP) != 2 {
		t.Fatalf("per-address map holds %d entries, want the 2 reading", len(bud.byIP))
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
