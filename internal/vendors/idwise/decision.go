package idwise

import (
	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/sdk/idv"
)

// verdict is the meaning of an IDWise decision word.
type verdict uint8

const (
	unknown verdict = iota
	approve
	decline
	review
	resubmit
	// finished: "Complete(d)". As a journey decision it reads approved (the
	// passing system decision is undocumented); as a step result it only
	// says the step ended, so it reads completed, never passed.
	finished
)

// decisionWords are the decision words understood, matched ignoring case
// and surrounding space, with '_' and '-' read as spaces. IDWise documents
// Refer, Rejected, Approved and Resubmission Requested (and Approve /
// Resubmit for steps); its passing system decision is not documented
// (vendors.md §4.2), hence the synonyms.
var decisionWords = [...]struct {
	word string
	v    verdict
}{
	{"approved", approve}, {"approve", approve}, {"complete", finished}, {"completed", finished},
	{"accepted", approve}, {"passed", approve}, {"pass", approve},
	{"rejected", decline}, {"reject", decline}, {"declined", decline}, {"failed", decline}, {"fail", decline},
	{"refer", review}, {"referred", review}, {"review", review}, {"needs review", review}, {"pending review", review},
	{"resubmission requested", resubmit}, {"resubmit", resubmit}, {"resubmission", resubmit},
}

// classify returns the verdict of a trimmed decision word.
func classify(word string) verdict {
	for _, d := range decisionWords {
		if wordEqual(word, d.word) {
			return d.v
		}
	}
	return unknown
}

// wordEqual reports whether s equals the lower-case word w, ignoring ASCII
// case and reading '_' and '-' in s as spaces.
func wordEqual(s, w string) bool {
	if len(s) != len(w) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '_' || c == '-':
			c = ' '
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// status is the verification status a verdict reports.
func (v verdict) status() (idv.Status, bool) {
	switch v {
	case approve, finished:
		return idv.StatusApproved, true
	case decline:
		return idv.StatusDeclined, true
	case review:
		return idv.StatusNeedsReview, true
	case resubmit:
		return idv.StatusResubmissionRequested, true
	}
	return "", false
}

// result is the check result a verdict reports; ifResubmit is the result of
// a resubmission request, which has no check result of its own.
func (v verdict) result(ifResubmit idv.Result) idv.Result {
	switch v {
	case approve:
		return idv.ResultPassed
	case decline:
		return idv.ResultFailed
	case review:
		return idv.ResultNeedsReview
	case resubmit:
		return ifResubmit
	}
	return idv.ResultCompleted
}

// word is a decision (or other vendor word) read from the body.
type word struct {
	s       string // trimmed; empty when absent or not a string
	present bool   // a non-null value other than an empty string
}

func (w word) verdict() verdict {
	if w.s == "" {
		return unknown
	}
	return classify(w.s)
}

// vendorValue is w as a vendor_status / vendor_result: the word when it is
// a printable string of sane length, else empty.
func (w word) vendorValue() string {
	if !report.ValidID(w.s) {
		return ""
	}
	return w.s
}

// unmapped is w's entry in Report.Unmapped: "decision=<word>" when the word
// looks like a word, else a placeholder that quotes nothing of the body.
func (w word) unmapped() string {
	if !plainWord(w.s) {
		return "decision=<unrecognized>"
	}
	return "decision=" + w.s
}

// plainWord reports whether s matches ^[A-Za-z _-]{1,40}$.
func plainWord(s string) bool {
	if len(s) == 0 || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == ' ' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// first returns the first present word.
func first(a, b word) word {
	if a.present {
		return a
	}
	return b
}
