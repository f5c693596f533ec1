package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/idvbus/idvbus/internal/buildinfo"
)

// buildInfoGauge is idvbus_build_info{version,commit,go_version}, always 1:
// the usual Prometheus way to tell which build each scraped process runs
// (join on it, or alert on mixed versions after a rollout).
func buildInfoGauge() prometheus.Collector {
	in := buildinfo.Get()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "idvbus_build_info",
		Help: "Always 1; the labels say which build this process runs.",
		ConstLabels: prometheus.Labels{
			"version": in.Version, "commit": in.Commit, "go_version": in.GoVersion,
		},
	})
	g.Set(1)
	return g
}
