// Package vendors describes the IDV vendors idvbus understands and holds their
// registry.
//
// Each vendor lives in its own sub-package (internal/vendors/<name>) and is listed
// once in [registry]; nothing else needs to change to add one.
package vendors

import (
	"fmt"
	"slices"
	"sort"

	"github.com/idvbus/idvbus/internal/vendors/report"
)

// Vendor is one IDV vendor's webhook dialect, as far as ingest needs it.
type Vendor interface {
	// Name is the vendor's identifier in config, subjects and events (e.g. "persona").
	Name() string
	// EventID returns the vendor's own id of the event carried by body, the same
	// on every redelivery of that event, and ok=false when the vendor gives none
	// or the body does not parse. It must not panic on any input.
	EventID(body []byte) (id string, ok bool)
	// NewParser returns the vendor's normalizer parser configured with opts,
	// an error wrapping [report.ErrOptions] for options it does not accept,
	// or [report.ErrNoParser] when the vendor has no normalizer yet.
	NewParser(opts report.Options) (report.Parser, error)
}

// NewParser returns the parser of the vendor called name.
func NewParser(name string, opts report.Options) (report.Parser, error) {
	v, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown vendor %q", name)
	}
	return v.NewParser(opts)
}

// Lookup returns the registered vendor called name.
func Lookup(name string) (Vendor, bool) {
	i := slices.IndexFunc(registry, func(v Vendor) bool { return v.Name() == name })
	if i < 0 {
		return nil, false
	}
	return registry[i], true
}

// Names returns the names of all registered vendors, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for _, v := range registry {
		names = append(names, v.Name())
	}
	sort.Strings(names)
	return names
}
