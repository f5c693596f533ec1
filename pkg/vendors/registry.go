package vendors

import (
	"github.com/idvbus/idvbus/pkg/vendors/credas"
	"github.com/idvbus/idvbus/pkg/vendors/idwise"
	"github.com/idvbus/idvbus/pkg/vendors/incode"
	"github.com/idvbus/idvbus/pkg/vendors/persona"
	"github.com/idvbus/idvbus/pkg/vendors/stripe"
	"github.com/idvbus/idvbus/pkg/vendors/sumsub"
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
