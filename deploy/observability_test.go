// Package deploy_test checks what deploy/ gives operators for monitoring: the
// Prometheus alert rules and the Grafana dashboard are well formed, and every
// metric and label they use is one the services really expose
// (metrics_test.go).
package deploy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"

	"github.com/prometheus/common/model"
	"go.uber.org/goleak"
	"go.yaml.in/yaml/v3"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	rulesFile     = "prometheus/idvbus-alerts.yml"
	dashboardFile = "grafana/idvbus-dashboard.json"
	docFile       = "../docs/observability.md"
	runbookBase   = "https://github.com/idvbus/idvbus/blob/main/docs/observability.md#"
)

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         *string           `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// loadRules reads the rule file strictly: an unknown key (a typo such as
// "annotation") is an error, as it is for Prometheus.
func loadRules(t *testing.T) []rule {
	t.Helper()
	data, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f ruleFile
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	var rules []rule
	groups := map[string]bool{}
	for _, g := range f.Groups {
		if g.Name == "" || groups[g.Name] || len(g.Rules) == 0 {
			t.Errorf("group %q: empty, unnamed or repeated", g.Name)
		}
		groups[g.Name] = true
		rules = append(rules, g.Rules...)
	}
	if len(rules) < 10 {
		t.Fatalf("%d rules read from %s", len(rules), rulesFile)
	}
	return rules
}

// docHeadings returns the "### " headings of docs/observability.md.
func docHeadings(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(docFile)
	if err != nil {
		t.Fatal(err)
	}
	var hs []string
	for _, line := range strings.Split(string(data), "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			hs = append(hs, strings.TrimSpace(h))
		}
	}
	return hs
}

var (
	alertName    = regexp.MustCompile(`^Idvbus[A-Z][A-Za-z]+$`)
	labelRef     = regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)
	promTmplFunc = template.FuncMap{"humanize": fmtAny, "humanizePercentage": fmtAny, "humanizeDuration": fmtAny}
)

func fmtAny(v any) string { return "" }

// TestAlertRulesWellFormed: every rule is an alert with an expression that
// reads as PromQL, a `for` that parses as a Prometheus duration, a severity,
// a summary, a description and a runbook link to its own section of
// docs/observability.md; annotation templates parse and name only labels
// the expression's result has.
func TestAlertRulesWellFormed(t *testing.T) {
	headings := docHeadings(t)
	seen := map[string]bool{}
	for _, r := range loadRules(t) {
		if r.Record != "" || !alertName.MatchString(r.Alert) {
			t.Errorf("rule %q%s: want an alert named Idvbus<Name>", r.Alert, r.Record)
			continue
		}
		if seen[r.Alert] {
			t.Errorf("%s: defined twice", r.Alert)
		}
		seen[r.Alert] = true
		q, err := analyzePromQL(r.Expr)
		if err != nil {
			t.Errorf("%s: expr: %v", r.Alert, err)
		}
		if r.For == nil {
			t.Errorf("%s: no `for`", r.Alert)
		} else if _, err := model.ParseDuration(*r.For); err != nil {
			t.Errorf("%s: for %q: %v", r.Alert, *r.For, err)
		}
		if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
			t.Errorf("%s: severity %q, want critical, warning or info", r.Alert, s)
		}
		for _, k := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(r.Annotations[k]) == "" {
				t.Errorf("%s: no %s", r.Alert, k)
			}
		}
		if want := runbookBase + strings.ToLower(r.Alert); r.Annotations["runbook_url"] != want {
			t.Errorf("%s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
		}
		if !slices.Contains(headings, r.Alert) {
			t.Errorf("%s: %s has no section \"### %s\"", r.Alert, docFile, r.Alert)
		}
		// The labels an alert carries: the grouping labels of its
		// aggregations, or all of its series' labels without one.
		aggregated := slices.ContainsFunc(q.funcs, func(f string) bool { return promAggs[f] })
		for k, text := range r.Annotations {
			// Prometheus defines these variables before expanding a template.
			const defs = "{{$labels := .}}{{$externalLabels := .}}{{$externalURL := .}}{{$value := .}}"
			if _, err := template.New(k).Funcs(promTmplFunc).Parse(defs + text); err != nil {
				t.Errorf("%s: annotation %s: %v", r.Alert, k, err)
			}
			for _, m := range labelRef.FindAllStringSubmatch(text, -1) {
				if aggregated && !slices.Contains(q.grouping, m[1]) {
					t.Errorf("%s: annotation %s uses $labels.%s, which the aggregation drops", r.Alert, k, m[1])
				}
			}
		}
	}
	// Every section of the alerts part of the doc belongs to an alert.
	for _, h := range headings {
		if strings.HasPrefix(h, "Idvbus") && !seen[h] {
			t.Errorf("%s: section %q names no alert", docFile, h)
		}
	}
}

// dashboard is the part of Grafana's dashboard JSON model the checks read.
type dashboard struct {
	SchemaVersion int `json:"schemaVersion"`
	UID           string
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *datasource     `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type datasource struct{ Type, UID string }

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// dashboardQueries returns every PromQL query of the dashboard (panel
// targets) and every variable query, read.
func dashboardQueries(t *testing.T, d dashboard) (queries map[string]promQuery) {
	t.Helper()
	queries = map[string]promQuery{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			q, err := analyzePromQL(tg.Expr)
			if err != nil {
				t.Errorf("panel %q %s: %v: %s", p.Title, tg.RefID, err, tg.Expr)
			}
			queries["panel "+p.Title+" "+tg.RefID] = q
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		// A plain string (a classic query, which every Grafana version
		// reads) or the newer {"query": ...} object.
		var text string
		if err := json.Unmarshal(v.Query, &text); err != nil {
			var qv struct{ Query string }
			if err := json.Unmarshal(v.Query, &qv); err != nil {
				t.Errorf("variable %s: query: %v", v.Name, err)
				continue
			}
			text = qv.Query
		}
		q, err := analyzeGrafanaQuery(text)
		if err != nil {
			t.Errorf("variable %s: %v", v.Name, err)
		}
		queries["variable "+v.Name] = q
	}
	return queries
}

var varRef = regexp.MustCompile(`\$\{?([a-zA-Z_][a-zA-Z0-9_]*)`)

// TestDashboardWellFormed: unique panel ids, panels inside the 24-column grid
// without overlapping, every panel and query on the ${DS_PROMETHEUS} data
// source variable, every non-row panel with at least one query that reads as
// PromQL, and every variable a query uses defined.
func TestDashboardWellFormed(t *testing.T) {
	d := loadDashboard(t)
	if d.SchemaVersion < 36 || d.UID == "" {
		t.Errorf("schemaVersion %d, uid %q", d.SchemaVersion, d.UID)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Type == "query" && (v.Datasource == nil || v.Datasource.UID != "${DS_PROMETHEUS}") {
			t.Errorf("variable %s: data source %+v, want ${DS_PROMETHEUS}", v.Name, v.Datasource)
		}
	}
	if vars["DS_PROMETHEUS"] != "datasource" {
		t.Errorf("no data source variable DS_PROMETHEUS: %v", vars)
	}
	for _, name := range []string{"job", "instance", "source", "vendor", "subscriber"} {
		if vars[name] != "query" {
			t.Errorf("no query variable %s", name)
		}
	}
	ids := map[int]bool{}
	type cell struct{ x, y int }
	taken := map[cell]string{}
	var rows []string
	for _, p := range d.Panels {
		if ids[p.ID] || p.ID == 0 {
			t.Errorf("panel %q: id %d missing or repeated", p.Title, p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W < 1 || g.H < 1 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the grid", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := taken[cell{x, y}]; ok {
					t.Fatalf("panel %q overlaps %q at %d,%d", p.Title, other, x, y)
				}
				taken[cell{x, y}] = p.Title
			}
		}
		if p.Type == "row" {
			rows = append(rows, p.Title)
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no queries", p.Title)
		}
		if p.Datasource == nil || p.Datasource.UID != "${DS_PROMETHEUS}" {
			t.Errorf("panel %q: data source %+v", p.Title, p.Datasource)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.Datasource == nil || tg.Datasource.UID != "${DS_PROMETHEUS}" || tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q query %q: data source %+v or refId wrong", p.Title, tg.RefID, tg.Datasource)
			}
			refs[tg.RefID] = true
			for _, m := range varRef.FindAllStringSubmatch(tg.Expr, -1) {
				if _, ok := vars[m[1]]; !ok && !strings.HasPrefix(m[1], "__") {
					t.Errorf("panel %q: undefined variable $%s", p.Title, m[1])
				}
			}
		}
	}
	for _, want := range []string{"Ingest", "Normalizer", "Notifier", "Process"} {
		if !slices.Contains(rows, want) {
			t.Errorf("no row %q (rows: %v)", want, rows)
		}
	}
	dashboardQueries(t, d)
}
