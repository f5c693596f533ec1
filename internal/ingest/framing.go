package ingest

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"go.uber.org/zap"
)

// Request smuggling: RFC 9112 §6.1 and §11.2 say a request whose framing two
// parsers could read differently (a proxy in front of ingest and ingest
// itself) must not be answered on a connection that is then reused: the
// bytes after it might be read as a second request by one and as body by the
// other. Go's net/http refuses some ambiguities itself, with 400 and a closed
// connection (differing Content-Length values, an invalid Content-Length, a
// Transfer-Encoding other than one "chunked", a space before a colon, control
// characters in headers), and the handler sees bad chunk sizes as body read
// errors. Others it accepts silently and keeps the connection open, and it
// drops the evidence before a handler could see it:
//
//   - Content-Length together with Transfer-Encoding: the Content-Length is
//     deleted and the body read as chunked (on HTTP/1.0 the Transfer-Encoding
//     is deleted instead);
//   - the same Content-Length twice: deduplicated;
//   - obs-fold (a header line continued on the next line starting with a
//     space or tab): joined into one value.
//
// framingConn therefore follows the message framing in the raw bytes net/http
// reads from the connection, and records for each request head whether it
// was ambiguous; the handler answers such a request 400 and closes the
// connection. The follower only ever adds refusals: where it loses track of
// the framing (a line longer than any header net/http accepts, a chunk size
// net/http would refuse as well), it stops judging that connection instead
// of guessing.

// Ambiguities framingConn reports (the reason label of a bad_framing refusal).
const (
	framingCLAndTE = "content_length_and_transfer_encoding"
	framingDupCL   = "duplicate_content_length"
	framingObsFold = "obs_fold"
)

// maxFramingLine is the longest head line the follower follows: net/http's
// header limit (Serve's 64 KiB plus its 4 KiB slack). A longer line is
// refused by net/http anyway.
const maxFramingLine = 64<<10 + 4<<10 + 2

// keepLine is how much of a line the follower keeps: a header's name and a
// valid Content-Length or Transfer-Encoding value fit easily, so a client
// sending long lines costs each connection at most this much here. The last
// tailLen bytes are kept too, for the version at the end of a long request line.
const (
	keepLine = 1 << 10
	tailLen  = 16
)

// framingListener wraps every accepted connection in a framingConn.
type framingListener struct{ net.Listener }

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framingConn{Conn: c}, nil
}

// framingConn is a connection whose reads feed a framingParser.
type framingConn struct {
	net.Conn
	mu sync.Mutex
	p  framingParser
}

func (c *framingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		c.p.feed(b[:n])
		c.mu.Unlock()
	}
	return n, err
}

// CloseWrite keeps net/http's graceful close (half-close, so the client reads
// the answer before the connection is reset) working through the wrapper.
func (c *framingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// next returns the verdict on the connection's next request head, in the
// order net/http hands the requests to the handler: "" for an unambiguous one
// or one the follower could not judge.
func (c *framingConn) next() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.p.verdicts) == 0 {
		return ""
	}
	v := c.p.verdicts[0]
	c.p.verdicts = c.p.verdicts[1:]
	return v
}

type framingConnKey struct{}

// withFramingConn is http.Server.ConnContext: it makes the connection's
// follower reachable from its requests.
func withFramingConn(ctx context.Context, c net.Conn) context.Context {
	if fc, ok := c.(*framingConn); ok {
		return context.WithValue(ctx, framingConnKey{}, fc)
	}
	return ctx
}

// guardFraming answers a request whose framing was ambiguous 400 and closes
// the connection after it, without reading its body; other requests go to next.
func (s *Service) guardFraming(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fc, _ := r.Context().Value(framingConnKey{}).(*framingConn)
		why := ""
		if fc != nil {
			why = fc.next()
		}
		if why == "" {
			next.ServeHTTP(w, r)
			return
		}
		closeAfter(w)
		reqID := requestID(r)
		w.Header().Set("X-Request-Id", reqID)
		label, vendor := unknownSourceLabel, zap.Skip()
		if name, ok := strings.CutPrefix(r.URL.Path, "/webhooks/"); ok {
			if src, ok := s.sources[name]; ok {
				label, vendor = name, zap.String("vendor", src.vendor.Name())
			}
		}
		s.metrics.request(label, OutcomeBadFraming)
		log := reqLog{l: s.reqLogger, fields: [3]zap.Field{zap.String("source", label), vendor, zap.String("request_id", reqID)}}
		s.logRefusal(log, label, why, "request refused: ambiguous message framing; connection closed",
			zap.String("remote_ip", s.clientIP(r).String()))
		writeJSON(w, http.StatusBadRequest, answer{Status: "error", Error: "ambiguous message framing (" + why + ")"})
	})
}

// States of a framingParser.
const (
	fpHead      = iota // request line and header lines
	fpBody             // a Content-Length body: skip remaining bytes
	fpChunkSize        // a chunk-size line
	fpChunkData        // chunk data: skip remaining bytes
	fpChunkEnd         // the CRLF after chunk data
	fpTrailer          // trailer lines up to the empty line
	fpLost             // framing lost: judge nothing more
)

// framingParser follows HTTP/1.1 request framing (RFC 9112) the way net/http
// reads it, incrementally over arbitrary splits of the byte stream, and
// records a verdict per request head.
type framingParser struct {
	state     int
	line      []byte // the first keepLine bytes of the current line, without its LF
	lineLen   int    // the current line's full length
	tail      [tailLen]byte
	remaining int64 // bytes to skip in fpBody and fpChunkData

	// the head being read
	inHead   bool // the request line has been seen
	http10   bool
	clCount  int
	clValue  int64
	clValid  bool
	teCount  int
	teValue  string
	obsFold  bool
	verdicts []string
}

// feed consumes the next bytes of the connection.
func (p *framingParser) feed(b []byte) {
	for len(b) > 0 && p.state != fpLost {
		switch p.state {
		case fpBody, fpChunkData:
			n := int64(len(b))
			if n > p.remaining {
				n = p.remaining
			}
			p.remaining -= n
			b = b[n:]
			if p.remaining == 0 {
				if p.state == fpBody {
					p.state = fpHead
				} else {
					p.state = fpChunkEnd
				}
			}
		default:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				p.appendLine(b)
				return
			}
			p.appendLine(b[:i])
			b = b[i+1:]
			if p.state == fpLost {
				return
			}
			if p.lineLen > keepLine {
				p.longLine()
			} else {
				p.endLine(bytes.TrimSuffix(p.line, []byte{'\r'}))
			}
			p.line, p.lineLen = p.line[:0], 0
		}
	}
}

func (p *framingParser) appendLine(b []byte) {
	if p.lineLen += len(b); p.lineLen > maxFramingLine {
		p.lose()
		return
	}
	if room := keepLine + 1 - len(p.line); room > 0 { // +1: to tell a long line
		p.line = append(p.line, b[:min(room, len(b))]...)
	}
	if len(b) >= tailLen {
		copy(p.tail[:], b[len(b)-tailLen:])
	} else {
		copy(p.tail[:], p.tail[len(b):])
		copy(p.tail[tailLen-len(b):], b)
	}
}

// longLine handles a line longer than keepLine: a long URL in the request
// line, or a long header value, which matters only for Content-Length and
// Transfer-Encoding (net/http refuses a long one of those).
func (p *framingParser) longLine() {
	switch {
	case p.state == fpHead && !p.inHead:
		p.inHead = true
		tail := bytes.TrimSuffix(p.tail[:], []byte{'\r'})
		p.http10 = bytes.HasSuffix(tail, []byte(" HTTP/1.0"))
	case p.state == fpHead || p.state == fpTrailer:
		name, _, _ := bytes.Cut(p.line, []byte{':'})
		if p.state == fpHead && (p.line[0] == ' ' || p.line[0] == '\t') {
			p.obsFold = true
		} else if strings.EqualFold(string(name), "Content-Length") || strings.EqualFold(string(name), "Transfer-Encoding") {
			p.lose()
		}
	default:
		p.lose() // a chunk-size line this long is refused by net/http
	}
}

// lose gives up on the connection's framing; net/http refuses what made it.
func (p *framingParser) lose() {
	p.state = fpLost
	p.line = nil
}

func (p *framingParser) endLine(line []byte) {
	switch p.state {
	case fpHead:
		p.headLine(line)
	case fpChunkSize:
		size, _, _ := bytes.Cut(line, []byte{';'}) // chunk extensions are ignored
		n, err := strconv.ParseUint(string(bytes.TrimRight(size, " \t")), 16, 63)
		if err != nil {
			p.lose() // net/http fails the body read: the handler answers 400 and closes
			return
		}
		if n == 0 {
			p.state = fpTrailer
		} else {
			p.state, p.remaining = fpChunkData, int64(n)
		}
	case fpChunkEnd:
		if len(line) != 0 {
			p.lose()
			return
		}
		p.state = fpChunkSize
	case fpTrailer:
		if len(line) == 0 {
			p.state = fpHead
		}
	}
}

func (p *framingParser) headLine(line []byte) {
	if !p.inHead {
		if len(line) == 0 {
			return // net/http refuses an empty request line itself
		}
		p.inHead = true
		_, proto, _ := cutLast(string(line), ' ')
		p.http10 = proto == "HTTP/1.0"
		return
	}
	if len(line) > 0 {
		if line[0] == ' ' || line[0] == '\t' {
			p.obsFold = true // net/http would join it to the previous value
			return
		}
		name, value, _ := bytes.Cut(line, []byte{':'})
		v := strings.Trim(string(value), " \t")
		switch {
		case strings.EqualFold(string(name), "Content-Length"):
			p.clCount++
			if p.clCount == 1 {
				n, err := strconv.ParseInt(v, 10, 64)
				p.clValue, p.clValid = n, err == nil && n >= 0
			}
		case strings.EqualFold(string(name), "Transfer-Encoding"):
			p.teCount++
			p.teValue = v
		}
		return
	}
	// The empty line: the head is complete.
	verdict := ""
	switch {
	case p.clCount > 0 && p.teCount > 0:
		verdict = framingCLAndTE
	case p.clCount > 1:
		verdict = framingDupCL
	case p.obsFold:
		verdict = framingObsFold
	}
	p.verdicts = append(p.verdicts, verdict)
	switch {
	case p.teCount > 0 && !p.http10: // net/http ignores Transfer-Encoding on HTTP/1.0
		if p.teCount != 1 || !strings.EqualFold(p.teValue, "chunked") {
			p.lose() // net/http answers 501 and closes
			return
		}
		p.state = fpChunkSize
	case p.clCount > 0:
		if !p.clValid {
			p.lose() // net/http answers 400 and closes
			return
		}
		if p.clValue > 0 {
			p.state, p.remaining = fpBody, p.clValue
		}
	}
	p.inHead, p.http10, p.clCount, p.clValue, p.clValid, p.teCount, p.teValue, p.obsFold = false, false, 0, 0, false, 0, "", false
}

// cutLast splits s around the last sep.
func cutLast(s string, sep byte) (before, after string, found bool) {
	if i := strings.LastIndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}
