package main

import (
	"bufio"
	"strings"
	"testing"
)

// TestSystemdUnit: the unit runs serve with the config path the CLI reads,
// reloads with SIGHUP, keeps the store in its StateDirectory and carries
// the hardening the README promises.
func TestSystemdUnit(t *testing.T) {
	unit := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(readFile(t, "../../configs/systemd/umsync.service")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			unit[k] = append(unit[k], v)
		}
	}
	for k, want := range map[string]string{
		"ExecStart": "/usr/local/bin/umsync serve --config /etc/umsync/umsync.yaml", "ExecReload": "/bin/kill -HUP $MAINPID",
		"User": "umsync", "StateDirectory": "umsync", "StateDirectoryMode": "0700", "ProtectSystem": "strict",
		"NoNewPrivileges": "yes", "ProtectHome": "yes", "PrivateTmp": "yes", "CapabilityBoundingSet": "",
		"UMask": "0077", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
	} {
		if got := unit[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// The command line parses: serve exists and takes --config.
	if _, stderr, code := umsync(t, "serve", "--help", "--config", "/etc/umsync/umsync.yaml"); code != exitOK {
		t.Errorf("serve --help: exit %d %s", code, stderr)
	}
}
