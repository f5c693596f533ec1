package deploy_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// This file holds a small PromQL reader, enough to check the rule file and
// the dashboard without github.com/prometheus/prometheus (far too big a
// dependency for a test): it finds the metric names, the label matchers of
// each selector, the grouping labels and the functions an expression uses,
// and rejects unbalanced brackets, unknown functions and malformed matchers.
// It is not a full parser; promtool remains the reference where available.

// matcher is one label matcher of a selector: {name op "value"}.
type matcher struct{ name, op, value string }

// selector is one vector selector: a metric name (empty when only
// matchers are given) and its matchers.
type selector struct {
	metric   string
	matchers []matcher
}

// promQuery is what an expression refers to.
type promQuery struct {
	selectors []selector
	grouping  []string // labels of by, without, on, ignoring, group_left, group_right
	funcs     []string
}

// metrics returns the distinct metric names the query selects.
func (q promQuery) metrics() []string {
	var out []string
	for _, s := range q.selectors {
		if s.metric != "" && !slices.Contains(out, s.metric) {
			out = append(out, s.metric)
		}
	}
	return out
}

// Functions and aggregation operators the checked files may use; anything
// else followed by "(" is reported, so a typo cannot hide.
var (
	promFuncs = map[string]bool{
		"rate": true, "irate": true, "increase": true, "delta": true, "idelta": true, "deriv": true,
		"histogram_quantile": true, "clamp_min": true, "clamp_max": true, "absent": true, "absent_over_time": true,
		"changes": true, "resets": true, "vector": true, "scalar": true, "time": true,
		"min_over_time": true, "max_over_time": true, "avg_over_time": true, "sum_over_time": true, "last_over_time": true,
		"label_replace": true, "abs": true, "round": true, "timestamp": true,
	}
	promAggs = map[string]bool{
		"sum": true, "min": true, "max": true, "avg": true, "count": true, "group": true,
		"stddev": true, "stdvar": true, "topk": true, "bottomk": true, "quantile": true, "count_values": true,
	}
	promGrouping = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	promKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true, "inf": true, "nan": true}
)

// grafanaVars stands in for Grafana's interval variables, which are not PromQL.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "6h")

// labelValuesRE matches Grafana's label_values(<selector>, <label>) variable query.
var labelValuesRE = regexp.MustCompile(`^\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)

// analyzeGrafanaQuery reads a Grafana variable query label_values(sel, label)
// as the selector plus the label, treated as a matcher the selector must have.
func analyzeGrafanaQuery(q string) (promQuery, error) {
	m := labelValuesRE.FindStringSubmatch(q)
	if m == nil {
		return promQuery{}, fmt.Errorf("not a label_values(selector, label) query: %q", q)
	}
	pq, err := analyzePromQL(m[1])
	if err != nil {
		return pq, err
	}
	if len(pq.selectors) != 1 {
		return pq, fmt.Errorf("label_values of %d selectors: %q", len(pq.selectors), q)
	}
	pq.selectors[0].matchers = append(pq.selectors[0].matchers, matcher{name: m[2], op: "label_values"})
	return pq, nil
}

type token struct {
	kind string // ident, string, number, op, or the bracket itself
	text string
}

func lexPromQL(expr string) ([]token, error) {
	var toks []token
	rs := []rune(grafanaVars.Replace(expr))
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '#': // comment to the end of the line
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
		case r == '"' || r == '\'' || r == '`':
			j := i + 1
			for j < len(rs) && rs[j] != r {
				if rs[j] == '\\' && r != '`' {
					j++
				}
				j++
			}
			if j >= len(rs) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			toks = append(toks, token{"string", string(rs[i+1 : j])})
			i = j + 1
		case unicode.IsDigit(r) || r == '.' && i+1 < len(rs) && unicode.IsDigit(rs[i+1]):
			j := i
			for j < len(rs) && (unicode.IsDigit(rs[j]) || rs[j] == '.') {
				j++
			}
			if j < len(rs) && (rs[j] == 'e' || rs[j] == 'E') && j+1 < len(rs) &&
				(unicode.IsDigit(rs[j+1]) || (rs[j+1] == '-' || rs[j+1] == '+') && j+2 < len(rs) && unicode.IsDigit(rs[j+2])) {
				j += 2
				for j < len(rs) && unicode.IsDigit(rs[j]) {
					j++
				}
			}
			for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j])) { // a duration: 5m, 1h30m
				j++
			}
			toks = append(toks, token{"number", string(rs[i:j])})
			i = j
		case r == '_' || r == ':' || unicode.IsLetter(r):
			j := i
			for j < len(rs) && (rs[j] == '_' || rs[j] == ':' || unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j])) {
				j++
			}
			toks = append(toks, token{"ident", string(rs[i:j])})
			i = j
		case strings.ContainsRune("(){}[],", r):
			toks = append(toks, token{string(r), string(r)})
			i++
		case strings.ContainsRune("=!<>+-*/%^", r):
			op := string(r)
			if i+1 < len(rs) && strings.ContainsRune("=~", rs[i+1]) && (r == '=' || r == '!' || r == '<' || r == '>') {
				op += string(rs[i+1])
			}
			toks = append(toks, token{"op", op})
			i += len([]rune(op))
		default:
			return nil, fmt.Errorf("unexpected %q at %d", r, i)
		}
	}
	return toks, nil
}

// analyzePromQL reads expr (Grafana interval variables allowed).
func analyzePromQL(expr string) (promQuery, error) {
	toks, err := lexPromQL(expr)
	if err != nil {
		return promQuery{}, err
	}
	var q promQuery
	var stack []string
	closing := map[string]string{")": "(", "}": "{", "]": "["}
	next := func(i int) string {
		if i+1 < len(toks) {
			return toks[i+1].kind
		}
		return ""
	}
	// readMatchers reads {name op "value", ...} starting at toks[i] == "{"
	// and returns the matchers and the index after "}".
	readMatchers := func(i int) ([]matcher, int, error) {
		var ms []matcher
		i++
		for i < len(toks) && toks[i].kind != "}" {
			if i+2 >= len(toks) || toks[i].kind != "ident" || toks[i+1].kind != "op" || toks[i+2].kind != "string" {
				return nil, i, fmt.Errorf("malformed label matcher near %q", toks[i].text)
			}
			if op := toks[i+1].text; op != "=" && op != "!=" && op != "=~" && op != "!~" {
				return nil, i, fmt.Errorf("label matcher %s has operator %q", toks[i].text, op)
			}
			ms = append(ms, matcher{toks[i].text, toks[i+1].text, toks[i+2].text})
			i += 3
			if i < len(toks) && toks[i].kind == "," {
				i++
			}
		}
		if i >= len(toks) {
			return nil, i, fmt.Errorf("unclosed {")
		}
		return ms, i + 1, nil
	}
	for i := 0; i < len(toks); {
		t := toks[i]
		switch t.kind {
		case "(", "[":
			stack = append(stack, t.kind)
			if t.kind == "[" { // a range or subquery: durations only
				j := i + 1
				for j < len(toks) && toks[j].kind != "]" {
					if k := toks[j].kind; k != "number" && !(k == "ident" && strings.HasPrefix(toks[j].text, ":")) {
						return q, fmt.Errorf("unexpected %q in a range", toks[j].text)
					}
					j++
				}
				i = j
				continue
			}
			i++
		case ")", "]":
			if len(stack) == 0 || stack[len(stack)-1] != closing[t.kind] {
				return q, fmt.Errorf("unbalanced %q", t.kind)
			}
			stack = stack[:len(stack)-1]
			i++
		case "}":
			return q, fmt.Errorf("unbalanced }")
		case "{":
			ms, j, err := readMatchers(i)
			if err != nil {
				return q, err
			}
			sel := selector{matchers: ms}
			for _, m := range ms {
				if m.name == "__name__" && m.op == "=" {
					sel.metric = m.value
				}
			}
			q.selectors = append(q.selectors, sel)
			i = j
		case "ident":
			name := t.text
			lower := strings.ToLower(name)
			switch {
			case promGrouping[name]:
				q.funcs = append(q.funcs, name)
				if next(i) != "(" {
					if name == "group_left" || name == "group_right" {
						i++
						continue
					}
					return q, fmt.Errorf("%s without a label list", name)
				}
				j := i + 2
				for j < len(toks) && toks[j].kind != ")" {
					switch toks[j].kind {
					case "ident":
						q.grouping = append(q.grouping, toks[j].text)
					case ",":
					default:
						return q, fmt.Errorf("unexpected %q in %s (...)", toks[j].text, name)
					}
					j++
				}
				if j >= len(toks) {
					return q, fmt.Errorf("unclosed %s (", name)
				}
				i = j + 1
			case promKeywords[lower]:
				i++
			case next(i) == "(" || promAggs[name] && i+1 < len(toks) && promGrouping[toks[i+1].text]:
				if !promFuncs[name] && !promAggs[name] {
					return q, fmt.Errorf("unknown function %q", name)
				}
				q.funcs = append(q.funcs, name)
				i++
			default: // a metric name, maybe with matchers
				sel := selector{metric: name}
				i++
				if i < len(toks) && toks[i].kind == "{" {
					ms, j, err := readMatchers(i)
					if err != nil {
						return q, err
					}
					sel.matchers, i = ms, j
				}
				q.selectors = append(q.selectors, sel)
			}
		default:
			i++
		}
	}
	if len(stack) > 0 {
		return q, fmt.Errorf("unclosed %q", stack[len(stack)-1])
	}
	if len(q.selectors) == 0 {
		return q, fmt.Errorf("selects no series")
	}
	return q, nil
}

// TestAnalyzePromQL holds the reader to what it must find and refuse, so the
// checks built on it cannot pass by reading nothing.
func TestAnalyzePromQL(t *testing.T) {
	q, err := analyzePromQL(`histogram_quantile(0.99, sum by (job, le) (rate(idvbus_x_bucket{result="ok", job=~"$job"}[$__rate_interval]))) > 1e-3
	  and on (job) group_left max without (instance) (min_over_time(up[5m:1m])) # comment
	  or vector(0)`)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.metrics(); !slices.Equal(got, []string{"idvbus_x_bucket", "up"}) {
		t.Errorf("metrics %v", got)
	}
	if !slices.Equal(q.grouping, []string{"job", "le", "job", "instance"}) {
		t.Errorf("grouping %v", q.grouping)
	}
	if ms := q.selectors[0].matchers; len(ms) != 2 || ms[0] != (matcher{"result", "=", "ok"}) || ms[1].op != "=~" {
		t.Errorf("matchers %+v", ms)
	}
	if q, err := analyzeGrafanaQuery(`label_values(idvbus_y{job=~"$job"}, source)`); err != nil ||
		q.metrics()[0] != "idvbus_y" || q.selectors[0].matchers[1].name != "source" {
		t.Errorf("label_values: %+v %v", q, err)
	}
	for _, bad := range []string{
		`sum(rate(idvbus_x[5m])`,            // unclosed (
		`rate(idvbus_x[5m]))`,               // unbalanced )
		`histogram_quantlie(0.9, idvbus_x)`, // typo in a function
		`idvbus_x{source}`,                  // matcher without a value
		`idvbus_x{source=="a"}`,             // wrong operator
		`sum by source (idvbus_x)`,          // by without parentheses
		`idvbus_x{source="a"`,               // unclosed {
		`vector(0)`,                         // selects nothing
	} {
		if _, err := analyzePromQL(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
