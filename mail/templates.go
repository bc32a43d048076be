package mail

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	texttemplate "text/template"

	"github.com/umsync/umsync/ums"
)

var blankRuns = regexp.MustCompile(`\n(?:[ \t]*\n){2,}`)

// Languages and Kinds are the templates there are: one per language and
// kind, each defining "subject", "text" and "html".
var (
	Languages = []string{"de", "en"}
	Kinds     = []ums.MailKind{ums.MailInfo, ums.MailPassword, ums.MailPIN, ums.MailAlert}
)

// Data is what a template sees.
type Data struct {
	User      UserData
	PortalURL string
	Password  string // password mail only
	PIN       string // PIN mail only
	Alert     AlertData
	Host      string // the machine umsync runs on
	// DirectoryLogin: users log in with their Windows password (the UMS
	// checks it against AD), not with one umsync mails.
	DirectoryLogin bool
}

// UserData is the user a mail goes to, as stored when it is sent.
type UserData struct {
	SAMAccountName, DisplayName, GivenName, Surname, Mail string
	Extension, Mobile                                     string
	FaxNumbers, AliasNumbers                              []string
	// Voicemail is the access level: disabled, mailbox_only, phone_login,
	// phone_login_remote or locked.
	Voicemail string
	Services  []string
	// Fax, SMS and Voice say which services the user has, so a mail names
	// only those. Fax and SMS: its settings' services; for a user without
	// settings (no profiles configured), whether it has fax numbers and a
	// mobile. Voice (voicemail): its voice mailbox is not off.
	Fax, SMS, Voice bool
}

// AlertData is an admin alert.
type AlertData struct {
	Cause, Title, Text string
}

// Templates are the parsed mail templates.
type Templates struct {
	text map[string]*texttemplate.Template // by "<lang>/<kind>"
	html map[string]*htmltemplate.Template
}

var voicemailWords = map[string]map[string]string{
	"en": {"disabled": "off", "mailbox_only": "mailbox only (no login by phone)",
		"phone_login": "on, with login by phone", "phone_login_remote": "on, with login by phone and remote inquiry",
		"locked": "locked after wrong PINs"},
	"de": {"disabled": "aus", "mailbox_only": "nur Sprachbox (keine Anmeldung per Telefon)",
		"phone_login": "an, mit Anmeldung per Telefon", "phone_login_remote": "an, mit Anmeldung per Telefon und Fernabfrage",
		"locked": "nach falschen PINs gesperrt"},
}

// serviceWords name the services in a sentence, in the order mails list them.
var serviceWords = map[string][3]string{"en": {"fax", "SMS", "voicemail"}, "de": {"Fax", "SMS", "Voicemail"}}

// services names u's services in lang ("fax, SMS and voicemail"); "" for none.
func services(u UserData, lang string) string {
	w, ok := serviceWords[lang]
	if !ok {
		w = serviceWords["en"]
	}
	var names []string
	for i, has := range []bool{u.Fax, u.SMS, u.Voice} {
		if has {
			names = append(names, w[i])
		}
	}
	and := map[string]string{"de": " und "}[lang]
	if and == "" {
		and = " and "
	}
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + and + names[len(names)-1]
}

var funcs = map[string]any{
	"join":     strings.Join,
	"services": services,
	"voicemail": func(level, lang string) string {
		if w, ok := voicemailWords[lang][level]; ok {
			return w
		}
		return level
	},
}

// LoadTemplates parses the built-in templates (defaults, as configs/mail)
// and, file by file, the ones in dir that replace them ("" for none). A
// template that does not parse, or fails on sample data, is an error that
// names its file.
func LoadTemplates(defaults fs.FS, dir string) (*Templates, error) {
	t := &Templates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	var errs []error
	for _, lang := range Languages {
		for _, kind := range Kinds {
			name := lang + "/" + string(kind) + ".tmpl"
			src, where, err := readTemplate(defaults, dir, name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if err := t.add(lang+"/"+string(kind), src); err != nil {
				errs = append(errs, fmt.Errorf("mail template %s: %w", where, err))
				continue
			}
			if _, _, _, err := t.Render(kind, lang, sampleData); err != nil {
				errs = append(errs, fmt.Errorf("mail template %s: %w", where, err))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// readTemplate returns name from dir if it is there, else the default.
func readTemplate(defaults fs.FS, dir, name string) (src []byte, where string, err error) {
	if dir != "" {
		p := filepath.Join(dir, filepath.FromSlash(name))
		src, err := os.ReadFile(p)
		if err == nil {
			return src, p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, p, fmt.Errorf("mail template: %w", err)
		}
	}
	src, err = fs.ReadFile(defaults, "mail/"+name)
	if err != nil {
		return nil, name, fmt.Errorf("built-in mail template %s: %w", name, err)
	}
	return src, "(built-in) " + name, nil
}

func (t *Templates) add(key string, src []byte) error {
	tt, err := texttemplate.New(key).Funcs(funcs).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return err
	}
	ht, err := htmltemplate.New(key).Funcs(funcs).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return err
	}
	for _, part := range []string{"subject", "text", "html"} {
		if tt.Lookup(part) == nil {
			return fmt.Errorf("defines no %q template", part)
		}
	}
	t.text[key], t.html[key] = tt, ht
	return nil
}

// Render makes a mail's subject, text and HTML parts.
func (t *Templates) Render(kind ums.MailKind, lang string, d Data) (subject, text, html string, err error) {
	key := lang + "/" + string(kind)
	tt, ok := t.text[key]
	if !ok {
		return "", "", "", fmt.Errorf("no mail template %s", key)
	}
	var b bytes.Buffer
	if err := tt.ExecuteTemplate(&b, "subject", d); err != nil {
		return "", "", "", err
	}
	subject = strings.Join(strings.Fields(b.String()), " ") // one line
	b.Reset()
	if err := tt.ExecuteTemplate(&b, "text", d); err != nil {
		return "", "", "", err
	}
	// A section a template leaves out must not leave a gap: at most one
	// empty line in a row (a hand-written template may not trim them all).
	text = blankRuns.ReplaceAllString(strings.TrimLeft(b.String(), "\n"), "\n\n")
	b.Reset()
	if err := t.html[key].ExecuteTemplate(&b, "html", d); err != nil {
		return "", "", "", err
	}
	return subject, text, b.String(), nil
}

// sampleData runs every template once at load time, so that a template
// naming a field that does not exist fails check-config, not a mail.
var sampleData = Data{
	User: UserData{SAMAccountName: "jdoe", DisplayName: "Jürgen Müller", GivenName: "Jürgen", Surname: "Müller",
		Mail: "jdoe@example.test", Extension: "2001", Mobile: "+491715550001", FaxNumbers: []string{"+49895550001"},
		Voicemail: "phone_login", Services: []string{"fax", "sms", "voice"}, Fax: true, SMS: true, Voice: true},
	PortalURL: "https://ums.example.test/", Password: "sample", PIN: "583920",
	Alert: AlertData{Cause: "safety", Title: "sample", Text: "sample"}, Host: "umsync1",
}

// userData is what templates see of u.
func userData(u *ums.User) UserData {
	d := UserData{SAMAccountName: u.SAMAccountName,
		GivenName: ums.StripControl(u.GivenName), Surname: ums.StripControl(u.Surname), Mail: u.Mail, Extension: u.Extension, Mobile: u.Mobile,
		FaxNumbers: u.FaxNumbers, AliasNumbers: u.AliasNumbers}
	d.DisplayName = ums.DisplayName(u.DisplayName, u.GivenName, u.Surname)
	if d.DisplayName == "" {
		d.DisplayName = u.SAMAccountName
	}
	s, err := ums.ParseSettings(u.Settings) // unreadable: a recorded problem; mailed as none
	d.Voicemail = s.VoicemailState()
	for _, x := range s.Services {
		d.Services = append(d.Services, string(x))
	}
	d.Voice = d.Voicemail != "disabled"
	if u.Settings != "" && err == nil {
		d.Fax, d.SMS = slices.Contains(s.Services, ums.ServiceFax), slices.Contains(s.Services, ums.ServiceSMS)
	} else {
		d.Fax, d.SMS = len(u.FaxNumbers) > 0, u.Mobile != ""
	}
	return d
}

// language is the user's mail language: its settings', else def.
func language(u *ums.User, def string) string {
	if s, err := ums.ParseSettings(u.Settings); err == nil && s.Language != "" {
		return s.Language
	}
	return def
}
