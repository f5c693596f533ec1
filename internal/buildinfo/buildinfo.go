// Package buildinfo says which build of idvbus is running: its version, the
// commit it was built from, when, and with which Go. The Makefile fills
// Version, Commit and Date with -ldflags -X (make build, make images, make
// release); a plain `go build` or `go install` falls back to what the Go
// toolchain stamps into the binary (runtime/debug.ReadBuildInfo: the module
// version and the vcs.revision and vcs.time of a build in a git checkout).
package buildinfo

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
)

// Set by the linker: -X github.com/idvbus/idvbus/internal/buildinfo.Version=v0.1.0 (and Commit, Date).
var (
	// Version is `git describe --tags --always --dirty` at build time.
	Version = ""
	// Commit is the full git commit hash.
	Commit = ""
	// Date is the build time, RFC 3339 UTC.
	Date = ""
)

// Unknown stands for a value neither the linker nor the Go toolchain recorded.
const Unknown = "unknown"

// Info is one build's identity.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"go_version"`
}

var (
	once sync.Once
	info Info
)

// Get returns this binary's build info; every field is set (Unknown when
// nothing recorded it).
func Get() Info {
	once.Do(func() {
		bi, _ := debug.ReadBuildInfo()
		info = resolve(Version, Commit, Date, bi, runtime.Version())
	})
	return info
}

// resolve prefers the linker's values, then the toolchain's.
func resolve(version, commit, date string, bi *debug.BuildInfo, goVersion string) Info {
	in := Info{Version: version, Commit: commit, Date: date, GoVersion: goVersion}
	if bi != nil {
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version // go install module@version
		}
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if in.Commit == "" {
					in.Commit = s.Value
				}
			case "vcs.time":
				if in.Date == "" {
					in.Date = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if in.Version == "" && in.Commit != "" && commit == "" {
			// A build in a git checkout without the Makefile: name it by its commit.
			in.Version = "devel-" + short(in.Commit)
			if modified {
				in.Version += "-dirty"
			}
		}
	}
	for _, f := range []*string{&in.Version, &in.Commit, &in.Date, &in.GoVersion} {
		if *f == "" {
			*f = Unknown
		}
	}
	return in
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// Line is what `--version` prints for prog, e.g.
// "idvbus v0.1.0 (commit 1a2b3c4d5e6f, built 2026-12-02T00:00:00Z, go1.26.8)".
func (in Info) Line(prog string) string {
	return fmt.Sprintf("%s %s (commit %s, built %s, %s)", prog, in.Version, short(in.Commit), in.Date, in.GoVersion)
}

// VersionFlag defines -version on fs for the small tools and examples: after
// fs is parsed, printed() writes prog's version line to w and reports true
// when it was asked for (the caller then exits 0).
func VersionFlag(fs *flag.FlagSet, prog string, w io.Writer) (printed func() bool) {
	v := fs.Bool("version", false, "print the version, commit, build date and Go version, and exit")
	return func() bool {
		if *v {
			fmt.Fprintln(w, Get().Line(prog))
		}
		return *v
	}
}
