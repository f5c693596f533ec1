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
	fail := func(code int, outcome, msg string) {
		s.metrics.request(name, outcome)
		s.traceOutcome(r.Context(), outcome, "")
		writeJSON(w, code, answer{Status: "error", Error: msg})
	}

	// A client outside the source's allow_ips is refused before its body is read.
	clientIP := s.clientIP(r)
	if c, ok := src.verifier.(webhookauth.IPChecker); ok && !c.AllowsIP(clientIP) {
		s.refuseAuth(r.Context(), w, log, name, clientIP, webhookauth.ErrIPNotAllowed)
		return
	}
	body, refusal := s.readBody(w, r)
	if refusal != nil {
		log.write(zap.WarnLevel, "webhook refused: "+refusal.msg, zap.Error(refusal.err))
		fail(refusal.code, refusal.outcome, refusal.msg)
		return
	}

	if err := src.verifier.Verify(&webhookauth.Request{Header: r.Header, Body: body, RemoteIP: clientIP, Now: received}); err != nil {
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
		w.Header().Set("Retry-After", strconv.Itoa(int(max(s.cfg.RetryAfter.Round(time.Second)/time.Second, 1))))
		fail(http.StatusServiceUnavailable, OutcomeUnavailable, "not stored: storage unavailable, retry later")
		return
	}
	outcome := OutcomeAccepted
	if stored.Duplicate {
		outcome = OutcomeDuplicate
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

// readBody reads the whole body within ingest.max_body_bytes. An empty or
// oversized body, or one the client did not finish sending in time, is refused.
func (s *Service) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *refusal) {
	tooLarge := &refusal{http.StatusRequestEntityTooLarge, OutcomeTooLarge,
		"body larger than " + strconv.FormatInt(s.cfg.MaxBodyBytes, 10) + " bytes", nil}
	if r.ContentLength > s.cfg.MaxBodyBytes { // declared too large: do not read it at all
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, tooLarge
	}
	if err != nil {
		return nil, &refusal{http.StatusBadRequest, OutcomeBadRequest, "body could not be read", err}
	}
	if len(body) == 0 {
		return nil, &refusal{http.StatusBadRequest, OutcomeEmptyBody, "empty body", nil}
	}
	return body, nil
}

// refuseAuth answers 401. The error is safe to log: webhookauth never puts
// secrets or header values in its errors.
func (s *Service) refuseAuth(ctx context.Context, w http.ResponseWriter, log reqLog, source string, ip netip.Addr, err error) {
	reason := webhookauth.Reason(err)
	s.metrics.authFailure(source, reason)
	s.traceOutcome(ctx, OutcomeUnauthorized, "")
	log.write(zap.WarnLevel, "webhook refused: authentication failed", zap.String("reason", reason),
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
