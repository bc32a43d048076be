// Command umsync keeps a Unified Messaging system's users in step with
// Active Directory. This package is the binary only: the CLI, config loading
// (strict decoding with every unknown key and mistyped value named by its
// YAML path: configwalk.go; each section's own checks are in the package
// that owns it, the UMS sections' in ums), the logger, wiring, the telemetry HTTP listener (metrics,
// health, the status page), the API's listener (package api answers it),
// signals (SIGHUP reloads the config) and ordered
// shutdown. Business logic lives in the packages it wires.
package main
