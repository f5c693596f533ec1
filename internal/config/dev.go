package config

import "github.com/idvbus/idvbus/internal/webhookauth"

// Development secrets: public, documented in the README, and only ever used by
// the no-config development setup. Never use them for a real vendor.
const (
	DevPersonaSecret  = "wbhsec_idvbus_dev_persona"
	DevIDWisePassword = "idvbus-dev-idwise"
	DevIncodeToken    = "idvbus-dev-incode"
	DevCredasToken    = "idvbus-dev-credas"
)

// Development returns the setup `idvbus` starts with when given no config: the
// embedded JetStream server with data under ./data, ingest on 127.0.0.1:8080
// (loopback only, since anyone can sign with the public secrets), and one source per
// supported vendor, named after it, with the Dev* secrets above and the
// authentication each vendor documents. The result still goes through
// [Finish], so IDVBUS_ variables can override it (e.g. a real Persona secret:
// IDVBUS_SOURCES_PERSONA_AUTH_SECRETS).
func Development() Config {
	cfg := Default()
	cfg.Log.Format = "console"
	// Public secrets: listen on this machine only.
	cfg.Ingest.Listen = "127.0.0.1:8080"
	cfg.Sources = []Source{
		{Name: "persona", Vendor: "persona", Auth: webhookauth.Config{
			Type: webhookauth.TypePersona, Secrets: []string{DevPersonaSecret}}},
		{Name: "idwise", Vendor: "idwise", Auth: webhookauth.Config{
			Type: webhookauth.TypeBasic, Username: "idwise", Secrets: []string{DevIDWisePassword}}},
		{Name: "incode", Vendor: "incode", Auth: webhookauth.Config{
			Type: webhookauth.TypeHeader, Header: "X-Webhook-Token", Secrets: []string{DevIncodeToken}}},
		{Name: "credas", Vendor: "credas", Auth: webhookauth.Config{
			Type: webhookauth.TypeHeader, Header: "webhookAuth", Secrets: []string{DevCredasToken}}},
	}
	return cfg
}
