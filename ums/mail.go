package ums

// MailKind is what a mail to a user (or to the admins) is for.
type MailKind string

// The mails umsync sends.
const (
	// MailInfo tells a user how to use fax, SMS and voicemail; sent once,
	// when the user first holds a license (and on an admin's request).
	MailInfo MailKind = "info"
	// MailPassword carries a new UMS web login password.
	MailPassword MailKind = "password"
	// MailPIN carries a new voicemail PIN: when voicemail is enabled, after
	// an unlock, on an admin's request.
	MailPIN MailKind = "pin"
	// MailAlert goes to mail.admin_to: license over cap, safety stop,
	// write-back failures.
	MailAlert MailKind = "alert"
)
