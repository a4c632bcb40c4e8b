package main

import (
	"testing"
)

// TestStaffGateSigns: an office's gate signs with the member of staff's
// card (staff/sign.go, the handoff to the staff terminal) where the
// office's role has a platform caller key (the bodies: whose card
// signed), with the terminals in the same process or elsewhere; for a
// role without the key it does not, and its pages say so.
func TestStaffGateSigns(t *testing.T) {
	one := map[string]bool{}
	for _, r := range allRoles {
		one[r] = true
	}
	split := map[string]bool{}
	for r := range one {
		split[r] = r != roleTerminals
	}
	for _, tc := range []struct {
		name   string
		local  map[string]bool
		urls   map[string]string
		caller string
		want   bool
	}{
		{"the bodies with the terminals", one, nil, roleBodies, true},
		{"the bodies, the terminals elsewhere", split, map[string]string{roleTerminals: "https://desk.example"}, roleBodies, true},
		{"the operators' sender pages: no platform key", one, nil, roleCatv, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := parseCallerKeys("", tc.local)
			if err != nil {
				t.Fatal(err)
			}
			d := &deps{peers: &peers{local: tc.local, urls: tc.urls, self: "http://127.0.0.1:1"}, keys: keys}
			gc := d.staffGate(tc.caller)
			if got := gc.SignerPerson != nil; got != tc.want {
				t.Errorf("signs: %v, want %v", got, tc.want)
			}
		})
	}
}
