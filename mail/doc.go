// Package mail sends what the outbox holds: the info, password and PIN
// mails to users and the alerts to admins, over SMTP (wneessen/go-mail) or
// into a folder of .eml files.
//
// It does not decide when a mail is due: sync/plan does, and the store
// queues the mail in the transaction of the change that causes it. The
// Worker (run by `serve`) drains the queue: it renders a mail from the
// user as stored at send time, makes a password or PIN when the mail is
// sent and stores only its hash, once the server accepted the mail
// (DESIGN invariant 6). A crash between the server's acceptance and the
// mark-sent sends the mail again on restart — with a new secret, the
// first one never having become valid; that window is the only way a mail
// goes out twice. A worker claims each mail (a lease in the store) before
// it builds it, so workers sharing a store never send one mail both, and
// only the claim's holder stores the hash (DESIGN invariant 10).
package mail
