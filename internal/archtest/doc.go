// Package archtest holds the tests that keep the package map of
// shared/docs/architecture.md true as the code changes: which packages may
// import which. It has no code of its own.
package archtest
