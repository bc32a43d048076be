package mail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umsync/umsync/configs"
	"github.com/umsync/umsync/ums"
)

func TestTemplatesOverrideAndErrors(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "en"), 0o700)
	write := func(src string) {
		os.WriteFile(filepath.Join(dir, "en", "info.tmpl"), []byte(src), 0o600)
	}
	write(`{{define "subject"}}Welcome {{.User.GivenName}}{{end}}{{define "text"}}Hi{{end}}{{define "html"}}<b>{{.User.DisplayName}}</b>{{end}}`)
	tmpl, err := LoadTemplates(configs.MailTemplates, dir)
	if err != nil {
		t.Fatal(err)
	}
	d := sampleData
	d.User.DisplayName = "<script>x</script>"
	subject, text, html, err := tmpl.Render(ums.MailInfo, "en", d)
	if err != nil || subject != "Welcome Jürgen" || text != "Hi" || html != "<b>&lt;script&gt;x&lt;/script&gt;</b>" {
		t.Errorf("override rendered %q %q %q, %v", subject, text, html, err)
	}
	if _, _, _, err := tmpl.Render(ums.MailPIN, "de", sampleData); err != nil {
		t.Errorf("the built-in de/pin next to an override: %v", err)
	}
	for src, want := range map[string]string{
		`{{define "subject"}}x{{end}}{{define "text"}}{{.User.Nope}}{{end}}{{define "html"}}x{{end}}`: `en/info.tmpl: template: en/info:1:52: executing "text" at <.User.Nope>: can't evaluate field Nope`,
		`{{define "subject"}}x{{end}}{{define "text"}}{{if}}{{end}}{{define "html"}}x{{end}}`:         `en/info.tmpl: template: en/info:1: missing value for if`,
		`{{define "subject"}}x{{end}}{{define "html"}}x{{end}}`:                                       `en/info.tmpl: defines no "text" template`,
	} {
		write(src)
		_, err := LoadTemplates(configs.MailTemplates, dir)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadTemplates(%s) = %v, want %q", src, err, want)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	for _, p := range []PasswordPolicy{{Length: 10, Classes: []string{"digit"}}, {Length: 64, Classes: passwordClasses}} {
		for range 50 {
			pw, err := p.Generate()
			if err != nil || len(pw) != p.Length || !p.satisfied([]byte(pw)) {
				t.Fatalf("Generate(%+v) = %q, %v", p, pw, err)
			}
		}
	}
	for _, p := range []PasswordPolicy{{Length: 9, Classes: []string{"digit"}}, {Length: 12}, {Length: 12, Classes: []string{"emoji"}}} {
		if p.Validate() == nil {
			t.Errorf("Validate(%+v) passed", p)
		}
	}
}
