// Package configs holds the files admins copy or override: the example
// config and the default mail templates, which the binary embeds.
package configs

import "embed"

// MailTemplates are the default mail templates: <lang>/<kind>.tmpl, each
// defining "subject", "text" and "html" (see mail.Templates).
//
//go:embed mail
var MailTemplates embed.FS
