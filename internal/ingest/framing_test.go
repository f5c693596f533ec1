package ingest

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

const smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

// framingCases are byte streams of one connection and the verdicts on their
// request heads, in order.
var framingCases = []struct {
	name string
	in   string
	want []string
}{
	{"plain content-length, then another request", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + smuggled, []string{"", ""}},
	{"chunked with extensions and trailer", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n" + smuggled, []string{"", ""}},
	{"body that looks like a head", "POST /a HTTP/1.1\r\nContent-Length: 45\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 1\r\nX: 1\r\n\r\n" + smuggled, []string{"", ""}},
	{"cl then te", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, []string{framingCLAndTE, ""}},
	{"te then cl", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + smuggled, []string{framingCLAndTE, ""}},
	{"te and cl on http/1.0", "POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc" + smuggled, []string{framingCLAndTE, ""}},
	{"same content-length twice", "POST /a HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc" + smuggled, []string{framingDupCL, ""}},
	{"obs-fold", "POST /a HTTP/1.1\r\nX-A: 1\r\n 2\r\nContent-Length: 3\r\n\r\nabc" + smuggled, []string{framingObsFold, ""}},
	{"obs-fold with a tab", "POST /a HTTP/1.1\r\nX-A: 1\r\n\t2\r\n\r\n", []string{framingObsFold}},
	{"bare LF lines", "POST /a HTTP/1.1\nContent-Length: 3\n\nabc" + smuggled, []string{"", ""}},
	{"long request line", "GET /" + strings.Repeat("a", 5000) + " HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled, []string{"", ""}},
	{"bad chunk size loses track", "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + smuggled, []string{""}},
	{"unsupported transfer-encoding loses track", "POST /a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n" + smuggled, []string{""}},
}

func TestFramingParserVerdicts(t *testing.T) {
	for _, tc := range framingCases {
		t.Run(tc.name, func(t *testing.T) {
			var p framingParser
			p.feed([]byte(tc.in))
			if !slices.Equal(p.verdicts, tc.want) {
				t.Fatalf("verdicts %q, want %q", p.verdicts, tc.want)
			}
			// The same stream one byte at a time, as a slow client sends it.
			var q framingParser
			for i := range len(tc.in) {
				q.feed([]byte{tc.in[i]})
			}
			if !slices.Equal(q.verdicts, tc.want) {
				t.Fatalf("byte by byte: verdicts %q, want %q", q.verdicts, tc.want)
			}
		})
	}
}

// FuzzFramingParser: the follower never panics, judges a stream the same
// however it is split into reads, and, unless it lost track, sees at least
// every request head net/http reads from the same bytes (so its verdicts
// line up with the requests the handler gets).
func FuzzFramingParser(f *testing.F) {
	for _, tc := range framingCases {
		f.Add([]byte(tc.in), uint8(7))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint8) {
		var whole framingParser
		whole.feed(in)
		var parts framingParser
		step := int(split%64) + 1
		for i := 0; i < len(in); i += step {
			parts.feed(in[i:min(i+step, len(in))])
		}
		if !slices.Equal(whole.verdicts, parts.verdicts) || whole.state != parts.state {
			t.Fatalf("split every %d: verdicts %q state %d, whole: %q state %d", step, parts.verdicts, parts.state, whole.verdicts, whole.state)
		}
		if whole.state == fpLost {
			return
		}
		br := bufio.NewReader(bytes.NewReader(in))
		n := 0
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				break
			}
			_, err = io.Copy(io.Discard, req.Body)
			n++
			if err != nil {
				break
			}
		}
		if n > len(whole.verdicts) {
			t.Fatalf("net/http read %d requests, the follower saw %d heads", n, len(whole.verdicts))
		}
	})
}
