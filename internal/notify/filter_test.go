package notify_test

import (
	"slices"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/sdk/idv"
)

// Each subscriber gets exactly the events its filter chooses, no more.
func TestFiltersChooseEvents(t *testing.T) {
	s := newStack(t)
	a := newReceiver(t, secretNew, nil)
	b := newReceiver(t, secretNew, nil)
	c := newReceiver(t, secretNew, nil)
	subA := subscriber("a", a.srv.URL)
	subA.Filter = idv.Filter{Vendors: []string{"persona"}, Statuses: []idv.Status{idv.StatusApproved}}.Normalized()
	subB := subscriber("b", b.srv.URL) // the default: the decisions
	subC := subscriber("c", c.srv.URL)
	subC.Filter = idv.Filter{Types: []idv.EventType{idv.TypeVerificationUpdated, idv.TypeCheckCompleted}}.Normalized()
	s.run(t, subA, subB, subC)

	personaApproved := s.publish(t, "persona", "inq_1", idv.StatusApproved, 1)
	personaDeclined := s.publish(t, "persona", "inq_2", idv.StatusDeclined, 1)
	incodeApproved := s.publish(t, "incode", "inc_3", idv.StatusApproved, 1)
	personaInProgress := s.publish(t, "persona", "inq_4", idv.StatusInProgress, 1)
	check := s.publishCheck(t, "persona", "inq_5", idv.CheckDocument, idv.ResultPassed)

	want := map[string][]string{
		"a": {personaApproved},
		"b": {personaApproved, personaDeclined, incodeApproved},
		"c": {personaApproved, personaDeclined, incodeApproved, personaInProgress, check},
	}
	got := map[string]*receiver{"a": a, "b": b, "c": c}
	for name, rc := range got {
		natstest.Eventually(t, 10*time.Second, name+"'s events", func() bool { return len(rc.requests()) >= len(want[name]) })
	}
	for name := range got {
		s.waitSettled(t, name) // nothing more is coming
	}
	for name, rc := range got {
		ids := rc.ids()
		slices.Sort(ids)
		w := slices.Clone(want[name])
		slices.Sort(w)
		if !slices.Equal(ids, w) {
			t.Errorf("subscriber %s got %v, want %v", name, ids, w)
		}
	}
}
