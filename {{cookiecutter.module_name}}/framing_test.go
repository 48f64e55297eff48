package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestErrorMessageIsWhatThingsDBTakes(t *testing.T) {
	for name, msg := range map[string]string{
		"short":            "no such function",
		"long ASCII":       strings.Repeat("x", 40000),
		"long multi-byte":  strings.Repeat("é", 20000) + "€",
		"invalid UTF-8":    "bad \xff\xfe byte",
		"exactly at limit": strings.Repeat("x", maxErrorMessage),
	} {
		got := errorMessage(msg)
		if !utf8.ValidString(got) || len(got) > maxErrorMessage {
			t.Errorf("%s: %d bytes, valid UTF-8 %v", name, len(got), utf8.ValidString(got))
		}
		if utf8.ValidString(msg) && len(msg) <= maxErrorMessage && got != msg {
			t.Errorf("%s: changed a message ThingsDB takes as it is", name)
		}
		if len(msg) > maxErrorMessage && len(got) < maxErrorMessage-utf8.UTFMax-len("...") {
			t.Errorf("%s: cut to %d bytes, more than needed", name, len(got))
		}
	}
}
