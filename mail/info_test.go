package mail

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umsync/umsync/configs"
	"github.com/umsync/umsync/ums"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestInfoMailGolden: a German user (lang=de in its settings) with SMS and
// an extension but neither fax nor voicemail gets a German info mail that
// names SMS only, with no empty line where fax and voicemail are left out.
func TestInfoMailGolden(t *testing.T) {
	tmpl, err := LoadTemplates(configs.MailTemplates, "")
	if err != nil {
		t.Fatal(err)
	}
	u := ums.User{SAMAccountName: "agross", DisplayName: "Änne Groß", Mail: "agross@example.test",
		Extension: "2002", Mobile: "+491715550002", Settings: "ums1;svc=sms;lang=de"}
	lang := language(&u, "en")
	subject, text, html, err := tmpl.Render(ums.MailInfo, lang, Data{User: userData(&u), PortalURL: "https://ums.example.test/"})
	if err != nil {
		t.Fatal(err)
	}
	got := "Subject: " + subject + "\n\n" + text + "\n--- html\n" + html
	golden := filepath.Join("testdata", "info-de-sms-only.golden")
	if *update {
		os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("info mail differs from %s (go test ./mail -run InfoMailGolden -update):\n%s", golden, got)
	}
}

// TestInfoMailNamesOnlyTheUsersServices: for every combination of
// services and numbers, in both languages, the subject and the text name
// exactly the services the user has, and no left-out section leaves an
// empty line.
func TestInfoMailNamesOnlyTheUsersServices(t *testing.T) {
	tmpl, err := LoadTemplates(configs.MailTemplates, "")
	if err != nil {
		t.Fatal(err)
	}
	words := map[string]map[string]string{ // what the text says for each service
		"en": {"fax": "Sending faxes", "sms": "SMS:", "voice": "Voicemail:"},
		"de": {"fax": "Fax senden", "sms": "SMS:", "voice": "Voicemail:"},
	}
	subjects := map[string]map[string]string{
		"en": {"": "Your UMS access", "fax": "Your fax access", "fax,sms,voice": "Your fax, SMS and voicemail access",
			"sms,voice": "Your SMS and voicemail access"},
		"de": {"": "Ihr UMS-Zugang", "fax": "Ihr Zugang zu Fax", "fax,sms,voice": "Ihr Zugang zu Fax, SMS und Voicemail",
			"sms,voice": "Ihr Zugang zu SMS und Voicemail"},
	}
	for mask := range 32 {
		var svc []string
		for i, s := range []string{"fax", "sms", "voice"} {
			if mask&(1<<i) != 0 {
				svc = append(svc, s)
			}
		}
		// Voicemail is the mailbox's level, not a service of svc.
		var settings []string
		if mask&4 != 0 {
			settings = append(settings, "vm=phone_login")
		}
		var kinds []string
		for _, s := range svc {
			if s != "voice" {
				kinds = append(kinds, s)
			}
		}
		if len(kinds) > 0 {
			settings = append(settings, "svc="+strings.Join(kinds, ","))
		}
		u := ums.User{SAMAccountName: "x", DisplayName: "X", Mobile: "+491715550002", FaxNumbers: []string{"+49895550001"},
			Settings: strings.Join(append([]string{"ums1"}, settings...), ";")}
		if mask&8 != 0 {
			u.Extension = "2001"
		}
		portal := ""
		if mask&16 != 0 {
			portal = "https://ums.example.test/"
		}
		for _, lang := range Languages {
			subject, text, _, err := tmpl.Render(ums.MailInfo, lang, Data{User: userData(&u), PortalURL: portal})
			if err != nil {
				t.Fatal(err)
			}
			if want, ok := subjects[lang][strings.Join(svc, ",")]; ok && subject != want {
				t.Errorf("%s %v: subject %q, want %q", lang, svc, subject, want)
			}
			for s, w := range words[lang] {
				if has := strings.Contains(text, w); has != strings.Contains(","+strings.Join(svc, ",")+",", ","+s+",") {
					t.Errorf("%s %v: text mentions %s = %v:\n%s", lang, svc, s, has, text)
				}
			}
			// Greeting, intro, the sections (if any) as one block, footer.
			paragraphs := strings.Split(strings.TrimSuffix(text, "\n"), "\n\n")
			sections := len(svc) > 0 || u.Extension != "" || portal != ""
			if want := map[bool]int{false: 3, true: 4}[sections]; len(paragraphs) != want {
				t.Errorf("%s %v ext=%v portal=%v: %d paragraphs, want %d (an empty line where a section is left out?):\n%s",
					lang, svc, u.Extension != "", portal != "", len(paragraphs), want, text)
			}
			if strings.Contains(text, "\n\n\n") || strings.Contains(text, " \n") {
				t.Errorf("%s %v ext=%v portal=%v: an empty line where a section is left out:\n%q", lang, svc, u.Extension != "", portal != "", text)
			}
		}
	}
}

// TestInfoMailDirectoryLogin: with api.password_check: directory the info
// mail tells users to log in with their Windows password (as ixi-UMS's
// does with AD); otherwise it does not.
func TestInfoMailDirectoryLogin(t *testing.T) {
	tmpl, err := LoadTemplates(configs.MailTemplates, "")
	if err != nil {
		t.Fatal(err)
	}
	u := ums.User{SAMAccountName: "jdoe", DisplayName: "J Doe", Mobile: "+491715550002"}
	for lang, want := range map[string]string{"en": "(your login is jdoe, with your Windows password)",
		"de": "(Ihre Anmeldung: jdoe, mit Ihrem Windows-Passwort)"} {
		for _, dirLogin := range []bool{false, true} {
			_, text, html, err := tmpl.Render(ums.MailInfo, lang, Data{User: userData(&u), PortalURL: "https://ums.example.test/",
				DirectoryLogin: dirLogin})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(text, want) != dirLogin || strings.Contains(html, want) != dirLogin {
				t.Errorf("%s DirectoryLogin=%v: text says %q = %v:\n%s", lang, dirLogin, want, !dirLogin, text)
			}
		}
	}
}
