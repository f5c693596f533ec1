package idv_test

import (
	"testing"

	"github.com/idvbus/idvbus/sdk/idv"
)

func TestStatusVocabulary(t *testing.T) {
	for _, s := range idv.Statuses() {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
	}
	terminal := map[idv.Status]bool{idv.StatusApproved: true, idv.StatusDeclined: true, idv.StatusExpired: true, idv.StatusAbandoned: true}
	decision := map[idv.Status]bool{idv.StatusApproved: true, idv.StatusDeclined: true, idv.StatusNeedsReview: true}
	for _, s := range idv.Statuses() {
		if s.Terminal() != terminal[s] || s.Decision() != decision[s] {
			t.Errorf("%s: terminal %v decision %v", s, s.Terminal(), s.Decision())
		}
	}
	// The contract's rank (rule 4).
	order := [][]idv.Status{
		{idv.StatusCreated}, {idv.StatusInProgress}, {idv.StatusSubmitted},
		{idv.StatusPassed, idv.StatusFailed, idv.StatusResubmissionRequested}, {idv.StatusNeedsReview},
		{idv.StatusApproved, idv.StatusDeclined, idv.StatusExpired, idv.StatusAbandoned},
	}
	for i, group := range order {
		for _, s := range group {
			if s.Rank() != i+1 {
				t.Errorf("%s has rank %d, want %d", s, s.Rank(), i+1)
			}
		}
	}
	if idv.Status("bogus").Valid() || idv.Check("bogus").Valid() || idv.Result("bogus").Valid() || idv.DecidedBy("x").Valid() {
		t.Error("unknown values are valid")
	}
	if idv.VerificationSubject("persona", idv.StatusApproved) != "idv.events.persona.verification.approved" ||
		idv.CheckSubject("credas", idv.CheckRightToWork) != "idv.events.credas.check.right_to_work" {
		t.Error("subjects")
	}
}

// TestVocabularyCopies: the lists of statuses, checks, results, decisions
// and types are the caller's to change; the package's stay as they are.
func TestVocabularyCopies(t *testing.T) {
	s, c, r, d, e := idv.Statuses(), idv.Checks(), idv.Results(), idv.DecisionStatuses(), idv.EventTypes()
	s[0], c[0], r[0], d[0], e[0] = "x", "x", "x", "x", "x"
	if idv.Statuses()[0] != idv.StatusCreated || idv.Checks()[0] != idv.CheckDocument || idv.Results()[0] != idv.ResultPassed ||
		idv.DecisionStatuses()[0] != idv.StatusApproved || idv.EventTypes()[0] != idv.TypeVerificationUpdated {
		t.Fatal("changing a returned list changed the package's")
	}
	if len(idv.Statuses()) != 11 || len(idv.Checks()) != 18 || len(idv.Results()) != 7 || len(idv.DecisionStatuses()) != 3 {
		t.Fatal("the vocabulary does not have the contract's size")
	}
	for _, s := range idv.DecisionStatuses() {
		if !s.Decision() {
			t.Errorf("%s is listed as a decision", s)
		}
	}
	if idv.EventType("io.idvbus.other.v1").Valid() || !idv.TypeCheckCompleted.Valid() {
		t.Error("EventType.Valid")
	}
}
