package vendors

import (
	"github.com/idvbus/idvbus/internal/vendors/credas"
	"github.com/idvbus/idvbus/internal/vendors/idwise"
	"github.com/idvbus/idvbus/internal/vendors/incode"
	"github.com/idvbus/idvbus/internal/vendors/persona"
	"github.com/idvbus/idvbus/internal/vendors/stripe"
	"github.com/idvbus/idvbus/internal/vendors/sumsub"
)

// registry lists every supported vendor: one line per vendor.
var registry = []Vendor{
	persona.Vendor{},
	incode.Vendor{},
	credas.Vendor{},
	idwise.Vendor{},
	sumsub.Vendor{},
	stripe.Vendor{},
}
