package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	for _, tc := range []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
	}{
		{"linker values win", "v0.1.0", "feedface", "2026-12-02T00:00:00Z", vcs,
			Info{"v0.1.0", "feedface", "2026-12-02T00:00:00Z", "go1.x"}},
		{"go build in a checkout", "", "", "", vcs,
			Info{"devel-0123456789ab-dirty", "0123456789abcdef0123456789abcdef01234567", "2026-12-01T10:00:00Z", "go1.x"}},
		{"go install module@version", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.2.0"}},
			Info{"v0.2.0", Unknown, Unknown, "go1.x"}},
		{"nothing recorded", "", "", "", nil, Info{Unknown, Unknown, Unknown, "go1.x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := resolve(tc.version, tc.commit, tc.date, tc.bi, "go1.x"); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestGetIsComplete(t *testing.T) {
	in := Get()
	for name, v := range map[string]string{"version": in.Version, "commit": in.Commit, "date": in.Date, "go": in.GoVersion} {
		if v == "" {
			t.Errorf("%s is empty", name)
		}
	}
	if !strings.HasPrefix(in.GoVersion, "go") {
		t.Errorf("go version %q", in.GoVersion)
	}
	if line := in.Line("idvbus"); !strings.HasPrefix(line, "idvbus "+in.Version+" (commit ") {
		t.Errorf("line %q", line)
	}
}
