// Package configs holds the files admins copy or override: the example
// config and the default mail templates, which the binary embeds.
package configs

import "embed"

// MailTemplates are the default mail templates: <lang>/<kind>.tmpl, each
// defining "subject", "text" and "html" (see mail.Templates).
//
//go:embed mail
var MailTemplates embed.FS

// OpenAPI is the OpenAPI 3.1 document of umsync's HTTP API (the UMS's
// front door), served at /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
