// Package sdktest holds the integration tests of the subscriber SDK
// (sdk/subscribe) against a real in-process JetStream with idvbus's
// topology. They live in the server's module because they need
// nats-server, goleak and the server's encoders, none of which may become a
// requirement of the SDK module (every consumer's module graph would get
// them); the SDK module keeps its pure unit tests.
package sdktest
