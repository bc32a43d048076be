package directory_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/umsync/umsync/directory"
	"github.com/umsync/umsync/internal/adlab"
	"github.com/umsync/umsync/internal/logtest"
)

// TestFailoverSkipsDeadURL: with a dead address first in directory.url,
// the client reads from the next one and logs which server it used.
func TestFailoverSkipsDeadURL(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	lab.AddUser(t, ou, adlab.User{Sam: adlab.SamPrefix() + "fo1"})
	dead := "ldaps://" + closedPort(t)
	cfg := lab.Config(ou)
	cfg.URL = directory.URLs{dead, lab.LDAPSURL}
	var logs logtest.Buffer
	c, err := directory.New(cfg, zerolog.New(&logs), directory.NewMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if got, err := readAll(t, c); err != nil || len(got) != 1 {
		t.Fatalf("read %d users, err %v; log:\n%s", len(got), err, logs.String())
	}
	out := logs.String()
	if !strings.Contains(out, `"url":"`+dead+`"`) || !strings.Contains(out, "trying the next of directory.url") {
		t.Errorf("the dead server is not logged:\n%s", out)
	}
	if !strings.Contains(out, `"url":"`+lab.LDAPSURL+`","dc_service_name":"CN=NTDS Settings`) ||
		!strings.Contains(out, "using directory server") {
		t.Errorf("the server used is not logged:\n%s", out)
	}
}

// TestFailoverSwitchIsLoggedAndCounted: the first URL (a proxy to the lab)
// goes down between two reads; the second read uses the next URL, and the
// switch is logged with both servers and counted.
func TestFailoverSwitchIsLoggedAndCounted(t *testing.T) {
	t.Parallel()
	lab := adlab.Require(t)
	ou := lab.OU(t)
	lab.AddUser(t, ou, adlab.User{Sam: adlab.SamPrefix() + "fo2"})
	u, _ := url.Parse(lab.LDAPSURL)
	proxy := adlab.NewProxy(t, u.Host)
	first := "ldaps://" + proxy.Addr()
	cfg := lab.Config(ou)
	cfg.URL = directory.URLs{first, lab.LDAPSURL}
	cfg.ReadConnections = 1
	var logs logtest.Buffer
	m := directory.NewMetrics(prometheus.NewRegistry())
	c, err := directory.New(cfg, zerolog.New(&logs), m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if got, err := readAll(t, c); err != nil || len(got) != 1 {
		t.Fatalf("first read: %d users, %v", len(got), err)
	}
	if n := testutil.ToFloat64(m.Failovers()); n != 0 {
		t.Fatalf("failovers = %v before any switch", n)
	}
	proxy.Down()
	time.Sleep(50 * time.Millisecond) // let the reader goroutine see EOF
	if got, err := readAll(t, c); err != nil || len(got) != 1 {
		t.Fatalf("read after the first server went down: %d users, %v", len(got), err)
	}
	if n := testutil.ToFloat64(m.Failovers()); n != 1 {
		t.Errorf("failovers = %v, want 1", n)
	}
	out := logs.String()
	if !strings.Contains(out, "directory failover") || !strings.Contains(out, `"previous_url":"`+first+`"`) ||
		!strings.Contains(out, `"url":"`+lab.LDAPSURL+`"`) || !strings.Contains(out, `"previous_dc_service_name":"CN=NTDS Settings`) {
		t.Errorf("the failover is not logged with both servers:\n%s", out)
	}
}
