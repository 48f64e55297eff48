package main

import (
	"strings"
	"testing"
)

func TestParseVersionPadsToThreeGroups(t *testing.T) {
	tests := map[string]version{
		"1":           {1, 0, 0},
		"1.2":         {1, 2, 0},
		"0.2.0":       {0, 2, 0},
		"99999.0.7":   {99999, 0, 7},
		"00010.02.03": {10, 2, 3},
	}
	for text, want := range tests {
		got, err := parseVersion(text, "the version")
		if err != nil || got != want {
			t.Errorf("parseVersion(%q) = %v, %v; want %v", text, got, err, want)
		}
	}
}

func TestParseVersionRefusesWhatThingsDBRefuses(t *testing.T) {
	tests := map[string]string{
		"v0.2.0":     "'v0.2.0': give the version without the v, like 0.2.0",
		"0.2.0-rc1":  "is not a ThingsDB version",
		"1.2.3.4":    "is not a ThingsDB version",
		"123456":     "is not a ThingsDB version",
		"0.2.x":      "is not a ThingsDB version",
		"":           "the version '' is not a ThingsDB version",
		"0.2.0\n":    "is not a ThingsDB version",
		"1..2":       "is not a ThingsDB version",
		"v":          "is not a ThingsDB version",
		"vv1":        "is not a ThingsDB version",
		"0.2.0 ":     "is not a ThingsDB version",
		"\uff10.1.0": "is not a ThingsDB version", // a full-width digit
	}
	for text, want := range tests {
		_, err := parseVersion(text, "the version")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseVersion(%q) = %v; want an error with %q", text, err, want)
		}
	}
}

func TestVersionsCompareGroupByGroup(t *testing.T) {
	ordered := []string{"0.0.9", "0.1", "0.1.1", "0.2.0", "0.10.0", "1", "1.0.1", "99999.99999.99999"}
	for i := 1; i < len(ordered); i++ {
		a, _ := parseVersion(ordered[i-1], "")
		b, _ := parseVersion(ordered[i], "")
		if !a.less(b) || b.less(a) {
			t.Errorf("%s should come before %s", ordered[i-1], ordered[i])
		}
	}
	a, _ := parseVersion("0.1", "")
	b, _ := parseVersion("0.1.0", "")
	if a.less(b) || b.less(a) {
		t.Error("0.1 and 0.1.0 are the same version")
	}
}

func TestSuggestNextBumpsTheLastGroup(t *testing.T) {
	tests := map[string]string{
		"0.1.0":   "0.1.1",
		"1.2":     "1.3",
		"7":       "8",
		"0.1.9":   "0.1.10",
		"0.99999": "0.99999",
		"0.1.0-x": "X.Y.Z",
	}
	for current, want := range tests {
		if got := suggestNext(current); got != want {
			t.Errorf("suggestNext(%q) = %q; want %q", current, got, want)
		}
	}
}
