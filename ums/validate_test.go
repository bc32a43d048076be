package ums

import (
	"fmt"
	"testing"
)

func TestValidate(t *testing.T) {
	l := Limits{ExtensionMin: 2, ExtensionMax: 4}
	tests := []struct {
		u    User
		want string
	}{
		{User{Extension: "2042", Phone: "+49891234", Mobile: "+491711234567", FaxNumbers: []string{"+4930123456"}}, "[]"},
		{User{}, "[]"},
		{User{Extension: "7"}, `[{extension "7" has 1 digits, want 2 to 4}]`},
		{User{Extension: "20421"}, `[{extension "20421" has 5 digits, want 2 to 4}]`},
		{User{Extension: "20a"}, `[{extension "20a" is not an extension (digits only)}]`},
		{User{Mobile: "call me"}, `[{mobile "call me" is not an E.164 number}]`},
		{User{Phone: "+49"}, `[{phone "+49" is not an E.164 number}]`},
		{User{FaxNumbers: []string{"+4930123456", "fax?"}}, `[{fax_numbers "fax?" is not an E.164 number}]`},
	}
	for _, tt := range tests {
		got := Validate(&tt.u, l)
		if s := fmt.Sprint(got); s != tt.want && !(tt.want == "[]" && len(got) == 0) {
			t.Errorf("Validate(%+v) = %s, want %s", tt.u, s, tt.want)
		}
	}
}
