package api

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/umsync/umsync/configs"
	"github.com/umsync/umsync/ums"
)

// TestUserIsTheFieldTable: a user with every field set comes back from
// the API with every Viewed field of ums.UserFields (the document checks
// the answer), and the document's User schema has exactly the view's keys:
// a field added to the table and not to openapi.yaml fails here.
func TestUserIsTheFieldTable(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	u := user(anchorA, "amüller")
	u.Department, u.Extension, u.Phone, u.Mobile = "Vertrieb Süd", "2041", "+49891234", "+491715550001"
	u.FaxNumbers, u.AliasNumbers = []string{"+49895550001", "+49895550002"}, []string{"+49895550003", "+49895550004"}
	u.Overrides, u.License, u.LicenseSince, u.Phantom = `{"rings":"8"}`, ums.LicensePending, t0, true
	u.State, u.DeactivationReason, u.DeactivatedAt = ums.StateDeactivated, "aus dem Bereich verschoben", t0.Add(time.Hour)
	for _, f := range ums.UserFields {
		if reflect.ValueOf(f.Ptr(&u)).Elem().IsZero() {
			t.Fatalf("the test's user leaves %s empty", f.Name)
		}
	}
	e.seed(u)
	got := e.do("GET", "/api/v1/users/"+anchorA, "read", nil)
	if got.code != 200 {
		t.Fatalf("%d %s", got.code, got.raw)
	}
	var back ums.UserView
	if err := json.Unmarshal(got.raw, &back); err != nil {
		t.Fatal(err)
	}
	for _, f := range ums.UserFields {
		g, w := reflect.ValueOf(f.Ptr(&back.User)).Elem().Interface(), reflect.ValueOf(f.Ptr(&u)).Elem().Interface()
		if !f.Has(ums.Viewed) {
			w = reflect.Zero(reflect.TypeOf(w)).Interface()
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %v, want %v", f.Name, g, w)
		}
	}
	var keys []string
	for k := range got.body {
		keys = append(keys, k)
	}
	var doc struct {
		Components struct {
			Schemas struct {
				User struct {
					Properties map[string]any `yaml:"properties"`
				} `yaml:"User"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(configs.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var props []string
	for k := range doc.Components.Schemas.User.Properties {
		props = append(props, k)
	}
	slices.Sort(keys)
	slices.Sort(props)
	if !slices.Equal(keys, props) {
		t.Errorf("a user with every field answers\n%v\nopenapi.yaml's User has\n%v", keys, props)
	}
}
