package main

import (
	"bytes"
	"context"
	"flag"
	"maps"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/umsync/umsync/ums"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestCheckConfigFixtures runs `umsync check-config` on every fixture in
// testdata/config: good*.yaml must pass, every bad-*.yaml must exit 1 with
// exactly the errors in its .errors file.
func TestCheckConfigFixtures(t *testing.T) {
	fixtures, _ := filepath.Glob("testdata/config/*.yaml")
	if len(fixtures) < 5 {
		t.Fatalf("only %d fixtures found", len(fixtures))
	}
	for _, f := range fixtures {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"check-config", "--config", f}, &stdout, &stderr)
			if strings.HasPrefix(name, "good") {
				if code != exitOK || stderr.Len() > 0 {
					t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
				}
				return
			}
			if code != exitFailure {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailure, stderr.String())
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".errors"
			if *update {
				os.WriteFile(golden, stderr.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if stderr.String() != string(want) {
				t.Fatalf("stderr:\n%s\nwant (%s):\n%s", stderr.String(), golden, want)
			}
		})
	}
}

func TestLoadConfigDefaultsAndPaths(t *testing.T) {
	cfg, err := loadConfig("testdata/config/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("testdata", "config", "data", "umsync.db"); cfg.Store.Path != want {
		t.Errorf("store.path = %q, want %q (relative to the config folder)", cfg.Store.Path, want)
	}
	if want := filepath.Join("testdata", "config", "ca.pem"); cfg.Directory.CAFile != want {
		t.Errorf("ca_file = %q, want %q (relative to the config folder)", cfg.Directory.CAFile, want)
	}
	if cfg.Directory.PageSize != 500 || cfg.Directory.Timeout != 30*time.Second ||
		cfg.Directory.Attributes.Extension != "ipPhone" || len(cfg.Directory.Attributes.FaxNumbers) != 2 ||
		cfg.Telemetry.Listen != "127.0.0.1:9742" || cfg.Log.Format != "json" {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	if cfg.Sync.Schedule != "CRON_TZ=Europe/Berlin 30 2 * * *" {
		t.Errorf("schedule = %q", cfg.Sync.Schedule)
	}
	pw, err := cfg.Directory.Password()
	if err != nil || pw != "secret-password" {
		t.Errorf("Password() = %q, %v; want the file's content without its newline", pw, err)
	}
}

// TestLoadConfigParsesUMSOnce: loadConfig keeps the UMS rules it parsed,
// and the engine, the API and the CLI use those very values (no second
// parse); parsing changes nothing of the config.
func TestLoadConfigParsesUMSOnce(t *testing.T) {
	cfg, err := loadConfig("testdata/config/good-profiles.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.rules
	if len(r.Profiles) != 2 || r.Profiles[0].Name != "sales" || r.Profiles[0].Defaults[ums.OverrideCallForwarding] != "+49301234567" ||
		r.Profiles.Priority("default") != 1 || r.PINs.Length != 8 || r.MaxPINFailures != 5 || r.VoicemailDigits != 4 ||
		r.Limits != (ums.Limits{ExtensionMin: 2, ExtensionMax: 4}) {
		t.Fatalf("rules = %+v", r)
	}
	if cfg.templates == nil {
		t.Error("mail templates not kept (mail.transport is set)")
	}
	engineRules, apiSettings := cfg.umsRules(), cfg.apiSettings()
	if &engineRules.Profiles[0] != &r.Profiles[0] || &apiSettings.Profiles[0] != &r.Profiles[0] {
		t.Error("the engine or the API got profiles parsed anew")
	}
	if apiSettings.PINPolicy != r.PINs || apiSettings.MaxPINFailures != 5 || engineRules.VoicemailDigits != 4 {
		t.Errorf("engine %+v, api %+v", engineRules, apiSettings)
	}
	before := *cfg
	before.Sync.Fields = maps.Clone(cfg.Sync.Fields)
	cfg.parse()
	if !reflect.DeepEqual(*cfg, before) {
		t.Error("parse changed the config")
	}
}

// TestExampleConfigIsValid keeps configs/umsync.example.yaml true: with its
// example files swapped for real ones it must pass check-config, and it must
// mention every key the config knows.
func TestExampleConfigIsValid(t *testing.T) {
	raw, err := os.ReadFile("../../configs/umsync.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	text := strings.NewReplacer(
		"/etc/umsync/ad-ca.pem", "ca.pem",
		"/etc/umsync/bind-password", "bind-password",
		"/var/lib/umsync/umsync.db", filepath.Join(dir, "umsync.db"),
	).Replace(string(raw))
	ca, _ := os.ReadFile("testdata/config/ca.pem")
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o600)
	os.WriteFile(filepath.Join(dir, "bind-password"), []byte("x"), 0o600)
	path := filepath.Join(dir, "umsync.yaml")
	os.WriteFile(path, []byte(text), 0o600)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"check-config", "--config", path}, &stdout, &stderr); code != exitOK {
		t.Fatalf("example config: exit %d\n%s", code, stderr.String())
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	for _, key := range configKeys(reflect.TypeOf(Config{}), "") {
		if !hasKey(root.Content[0], strings.Split(key, ".")) {
			t.Errorf("configs/umsync.example.yaml does not show %s", key)
		}
	}
}

// configKeys lists every YAML key path of a config struct type.
func configKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "-" {
			continue // not in the file (wired in from another section)
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		ft := t.Field(i).Type
		if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Duration(0)) {
			out = append(out, configKeys(ft, path)...)
			continue
		}
		out = append(out, path)
	}
	return out
}

func hasKey(n *yaml.Node, path []string) bool {
	if len(path) == 0 {
		return true
	}
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == path[0] {
			return hasKey(n.Content[i+1], path[1:])
		}
	}
	return false
}

// TestMistypedSubcommandSuggests: `umsync users lst` is a usage error that
// suggests `list`, as a mistyped top-level command suggests its fix.
func TestMistypedSubcommandSuggests(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"users", "lst"}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), `unknown command "lst" for "umsync users"`) ||
		!strings.Contains(stderr.String(), "Did you mean this?\n\tlist") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"users"}, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "Available Commands") {
		t.Errorf("`umsync users` alone: exit %d, want its help:\n%s", code, stdout.String())
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"no-such-command"},
		{"sync", "--no-such-flag"},
		{"users", "show"},
		{"users", "list", "--output", "xml", "--config", "testdata/config/good.yaml"},
		{"version", "extra"},
		{"users", "lst"},
		{"mail", "queu"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr.String())
		}
	}
}

// TestTelemetryDefaultsToLoopback: the listener with /metrics, /readyz and
// the status page binds to loopback unless the config says otherwise.
func TestTelemetryDefaultsToLoopback(t *testing.T) {
	host, _, err := net.SplitHostPort(defaultConfig().Telemetry.Listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		t.Errorf("telemetry.listen defaults to %q", defaultConfig().Telemetry.Listen)
	}
	if defaultConfig().Telemetry.StatusDetails {
		t.Error("the status page shows names by default")
	}
}
