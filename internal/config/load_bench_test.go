package config_test

import (
	"os"
	"testing"

	"github.com/idvbus/idvbus/internal/config"
)

// BenchmarkLoad compares loading the shipped example with the origins
// recorded (LoadFile, what every start does) and without (Parse + Finish):
// the cost of knowing where each value came from, paid once per start.
func BenchmarkLoad(b *testing.B) {
	const path = "../../deploy/idvbus.example.yaml"
	env := config.Env{"PERSONA_WEBHOOK_SECRET": "wbhsec_x", "IDWISE_WEBHOOK_PASSWORD": "p",
		"INCODE_WEBHOOK_TOKEN": "t", "CREDAS_WEBHOOK_TOKEN": "t", "ONBOARDING_WHSEC": testSecret}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("with-origins", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := config.LoadFile(path, env); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("without", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			cfg, err := config.Parse(data, env)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := config.Finish(cfg, env); err != nil {
				b.Fatal(err)
			}
		}
	})
}
