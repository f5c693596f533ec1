package ingest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/ingest"
	"github.com/idvbus/idvbus/internal/vendors"
)

func TestMsgID(t *testing.T) {
	hash := func(b string) string { s := sha256.Sum256([]byte(b)); return hex.EncodeToString(s[:]) }
	long := `{"data":{"id":"` + strings.Repeat("x", 201) + `"}}`
	ctrl := `{"data":{"id":"evt\r\nNats-Msg-Id: x"}}`
	cases := []struct{ source, vendor, body, want string }{
		{"persona", "persona", `{"data":{"id":"evt_9"}}`, "persona:evt_9"},
		{"persona-eu", "persona", `{"data":{"id":"evt_9"}}`, "persona-eu:evt_9"}, // per source
		{"idwise", "idwise", `{"body":{"eventId":"e1"}}`, "idwise:e1"},
		{"sumsub", "sumsub", `{"applicantId":"a1","type":"applicantCreated","createdAtMs":"2020-02-21 13:23:19.002","correlationId":"req-1"}`, "sumsub:a1:applicantCreated:2020-02-21T13:23:19.002"},
		{"sumsub", "sumsub", `{"correlationId":"req-1"}`, "sumsub:sha256:" + hash(`{"correlationId":"req-1"}`)},
		{"stripe", "stripe", `{"id":"evt_S"}`, "stripe:evt_S"},
		{"incode", "incode", `{"interviewId":"i"}`, "incode:sha256:" + hash(`{"interviewId":"i"}`)},
		{"credas", "credas", `{"UpdateType":1}`, "credas:sha256:" + hash(`{"UpdateType":1}`)},
		{"persona", "persona", `garbage`, "persona:sha256:" + hash(`garbage`)},
		{"persona", "persona", long, "persona:sha256:" + hash(long)}, // too long for a header id
		{"persona", "persona", ctrl, "persona:sha256:" + hash(ctrl)}, // header injection attempt
	}
	for _, tc := range cases {
		v, _ := vendors.Lookup(tc.vendor)
		if got := ingest.MsgID(tc.source, v, []byte(tc.body)); got != tc.want {
			t.Errorf("MsgID(%s, %s) = %q, want %q", tc.source, tc.body, got, tc.want)
		}
	}
}
