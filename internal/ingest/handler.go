package ingest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

// Outcomes of one webhook request, as counted in idvbus_ingest_requests_total.
const (
	OutcomeAccepted      = "accepted"
	OutcomeDuplicate     = "duplicate"
	OutcomeUnauthorized  = "unauthorized"
	OutcomeUnknownSource = "unknown_source"
	OutcomeTooLarge      = "too_large"
	OutcomeEmptyBody     = "empty_body"
	OutcomeBadRequest    = "bad_request"
	OutcomeUnavailable   = "unavailable"
	// OutcomeOverloaded: the body would exceed ingest.max_inflight_body_bytes
	// (or its per-address share); answered 503 with Retry-After, body unread.
	OutcomeOverloaded = "overloaded"
	// OutcomeBadFraming: the request's framing is ambiguous (both
	// Content-Length and Transfer-Encoding, a repeated Content-Length, an
	// obs-fold line); answered 400 and the connection closed (see framing.go).
	OutcomeBadFraming = "bad_framing"
)

// unknownSourceLabel stands for every unknown source name in metrics, so a
// scanner cannot create unbounded label values.
const unknownSourceLabel = "_unknown"

// sourceNamePattern is the shape of a source name (CONTRACT.md).
var sourceNamePattern = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// answer is the JSON body of every webhook response.
type answer struct {
	Status string `json:"status"`
	ID     string `json:"id,omitempty"`
	Error  string `json:"error,omitempty"`
}

// handleWebhook serves POST /webhooks/{source}.
func (s *Service) handleWebhook(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	reqID := requestID(r)
	w.Header().Set("X-Request-Id", reqID)
	name := r.PathValue("source")
	src, ok := s.sources[name]
	if !ok {
		s.metrics.request(unknownSourceLabel, OutcomeUnknownSource)
		s.traceOutcome(r.Context(), OutcomeUnknownSource, "")
		// The name is the caller's text: logged only if it has a source
		// name's shape, never as arbitrary text.
		requested := "(not a source name)"
		if sourceNamePattern.MatchString(name) {
			requested = name
		}
		s.reqLogger.Warn("webhook refused: unknown source; answered 404 (POST /webhooks/<source> takes a configured source name)",
			zap.String("source", requested), zap.Strings("sources", s.sourceNames), zap.String("request_id", reqID))
		writeJSON(w, http.StatusNotFound, answer{Status: "error", Error: "unknown source"})
		return
	}
	log := reqLog{l: s.reqLogger, fields: [3]zap.Field{zap.String("source", name), zap.String("vendor", src.vendor.Name()), zap.String("request_id", reqID)}}

	// Whatever the client address and the headers alone decide (allow_ips,
	// a missing or malformed signature header, a stale or future timestamp,
	// a wrong basic, bearer or header credential) is refused before a byte of
	// the body is read.
	clientIP := s.clientIP(r)
	areq := &webhookauth.Request{Header: r.Header, RemoteIP: clientIP, Now: received}
	if err := src.verifier.CheckHeaders(areq); err != nil {
		closeAfter(w)
		s.refuseAuth(r.Context(), w, log, name, clientIP, err)
		return
	}
	body, l, refusal := s.readBody(r, clientIP)
	defer l.release() // the body is held until the PubAck
	if refusal != nil {
		closeAfter(w) // the body is unread or unreadable: the connection cannot be reused
		if refusal.outcome == OutcomeOverloaded {
			s.setRetryAfter(w)
		}
		s.logRefusal(log, name, refusal.outcome, "webhook refused: "+refusal.msg, zap.String("remote_ip", clientIP.String()), zap.Error(refusal.err))
		s.fail(w, r, name, refusal.code, refusal.outcome, refusal.msg)
		return
	}

	areq.Body = body
	if err := src.verifier.Verify(areq); err != nil {
		s.refuseAuth(r.Context(), w, log, name, clientIP, err)
		return
	}

	msgID := MsgID(name, src.vendor, body)
	// The publish must not be cut short by the vendor hanging up: it would
	// leave the write's fate unknown for no benefit. It is bounded by its own timeout.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.PublishTimeout)
	defer cancel()
	start := time.Now()
	stored, err := s.store.PublishRaw(ctx, bus.RawMessage{
		Source: name, Vendor: src.vendor.Name(), MsgID: msgID, RequestID: reqID,
		ContentType: headerValue(r.Header.Get("Content-Type")), ReceivedAt: received, Body: body,
		Header: s.tracer.NATSHeader(ctx),
	})
	s.metrics.publish(name, time.Since(start), err)
	if err != nil {
		log.write(zap.ErrorLevel, "webhook not stored: JetStream did not confirm the write; answered 503", zap.String("event_id", msgID), zap.Error(err))
		s.traceOutcome(r.Context(), OutcomeUnavailable, msgID)
		s.setRetryAfter(w)
		s.metrics.request(name, OutcomeUnavailable)
		writeJSON(w, http.StatusServiceUnavailable, answer{Status: "error", Error: "not stored: storage unavailable, retry later"})
		return
	}
	outcome := OutcomeAccepted
	if stored.Duplicate {
		outcome = OutcomeDuplicate
	}
	if stored.MsgID != "" {
		msgID = stored.MsgID
	}
	if stored.Collision {
		s.metrics.collision(name)
		// Ids only, never the body: the vendor's id was not unique.
		log.write(zap.WarnLevel, "webhook id already taken by a different body: stored under a derived key",
			zap.String("event_id", msgID), zap.Uint64("stream_seq", stored.Seq), zap.String("outcome", outcome))
	}
	s.metrics.request(name, outcome)
	s.traceOutcome(r.Context(), outcome, msgID)
	log.write(zap.DebugLevel, "webhook stored", zap.String("event_id", msgID), zap.Uint64("stream_seq", stored.Seq), zap.String("outcome", outcome))
	writeJSON(w, http.StatusOK, answer{Status: outcome, ID: msgID})
}

// reqLog logs with one request's fields. Unlike zap's With, it encodes them
// only when a line is written: most requests write none at info level.
type reqLog struct {
	l      *zap.Logger // Service.reqLogger: caller skip set for write
	fields [3]zap.Field
}

func (r reqLog) write(level zapcore.Level, msg string, extra ...zap.Field) {
	if ce := r.l.Check(level, msg); ce != nil {
		ce.Write(append(r.fields[:], extra...)...)
	}
}

// refusal is why a request was refused before authentication.
type refusal struct {
	code         int
	outcome, msg string
	err          error
}

// chunkStep is the first reservation for a body of undeclared length
// (chunked): enough for a typical webhook in one step; the reservation then
// doubles as the body grows, each step admitted by the budget.
const chunkStep = 64 << 10

// readBody reads the whole body within ingest.max_body_bytes, reserving what
// it holds in the in-flight budget first: a declared Content-Length is
// reserved (or refused) before anything is read. An empty or oversized body,
// one the client did not finish sending in time, and one that does not fit
// the budget are refused. The caller releases the lease.
func (s *Service) readBody(r *http.Request, ip netip.Addr) ([]byte, *lease, *refusal) {
	limit := s.cfg.MaxBodyBytes
	tooLarge := &refusal{http.StatusRequestEntityTooLarge, OutcomeTooLarge,
		"body larger than " + strconv.FormatInt(limit, 10) + " bytes", nil}
	overloaded := &refusal{http.StatusServiceUnavailable, OutcomeOverloaded,
		"too many bodies being read at once, retry later", nil}
	switch {
	case r.ContentLength > limit: // declared too large: do not read it at all
		return nil, nil, tooLarge
	case r.ContentLength == 0:
		return nil, nil, &refusal{http.StatusBadRequest, OutcomeEmptyBody, "empty body", nil}
	}
	declared := r.ContentLength > 0
	want := r.ContentLength
	if !declared {
		want = min(chunkStep, limit+1) // +1: room to notice a body over the limit
	}
	l := s.budget.acquire(ip, want)
	if l == nil {
		return nil, nil, overloaded
	}
	buf := make([]byte, 0, want)
	for {
		if len(buf) == cap(buf) {
			if declared || int64(cap(buf)) > limit {
				break // all declared bytes read, or more than the limit
			}
			more := min(int64(cap(buf)), limit+1-int64(cap(buf)))
			if !l.grow(more) {
				return nil, l, overloaded
			}
			buf = append(make([]byte, 0, int64(cap(buf))+more), buf...)
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			if declared && len(buf) < cap(buf) {
				return nil, l, &refusal{http.StatusBadRequest, OutcomeBadRequest, "body could not be read", io.ErrUnexpectedEOF}
			}
			break
		}
		if err != nil {
			return nil, l, &refusal{http.StatusBadRequest, OutcomeBadRequest, "body could not be read", err}
		}
	}
	if int64(len(buf)) > limit {
		return nil, l, tooLarge
	}
	if len(buf) == 0 {
		return nil, l, &refusal{http.StatusBadRequest, OutcomeEmptyBody, "empty body", nil}
	}
	return buf, l, nil
}

// fail answers a refusal and counts it.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, source string, code int, outcome, msg string) {
	s.metrics.request(source, outcome)
	s.traceOutcome(r.Context(), outcome, "")
	writeJSON(w, code, answer{Status: "error", Error: msg})
}

// setRetryAfter sets the Retry-After of a 503: ingest.retry_after, at least 1 s.
func (s *Service) setRetryAfter(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(max(s.cfg.RetryAfter.Round(time.Second)/time.Second, 1))))
}

// closeAfter makes net/http close the connection right after the answer: a
// refused client cannot hold it by trickling the body, and nothing it sends
// after the answer is read as another request. "Connection: close" alone is
// not enough: after the handler, net/http still reads up to 256 KiB of an
// unread body (to find its end), waiting for a client that never sends it
// until ingest.read_timeout. A read deadline in the past ends that read at
// once; the answer is written all the same, then the connection is closed.
func closeAfter(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

// refuseAuth answers 401. The error is safe to log: webhookauth never puts
// secrets or header values in its errors.
func (s *Service) refuseAuth(ctx context.Context, w http.ResponseWriter, log reqLog, source string, ip netip.Addr, err error) {
	reason := webhookauth.Reason(err)
	s.metrics.authFailure(source, reason)
	s.traceOutcome(ctx, OutcomeUnauthorized, "")
	s.logRefusal(log, source, reason, "webhook refused: authentication failed",
		zap.String("remote_ip", ip.String()), zap.Error(err))
	writeJSON(w, http.StatusUnauthorized, answer{Status: "error", Error: "authentication failed"})
}

// headerValue keeps a header value only if it is short printable ASCII, so
// nothing odd is copied into stored headers.
func headerValue(v string) string {
	if len(v) > 256 {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return ""
		}
	}
	return v
}
