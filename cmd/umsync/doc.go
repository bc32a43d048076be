// Command umsync keeps a Unified Messaging system's users in step with
// Active Directory. This package is the binary only: the CLI, config loading
// and validation, the logger, wiring, the telemetry HTTP listener (metrics,
// health, the status page), the API's listener (package api answers it),
// signals (SIGHUP reloads the config) and ordered
// shutdown. Business logic lives in the packages it wires.
package main
