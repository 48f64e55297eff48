package main

import "testing"

func TestWithInstallLinesMovesThePinnedTag(t *testing.T) {
	tests := []struct{ text, want string }{
		{
			"new_module('demo', 'github.com/o/module-go-demo@v0.1.0');\n",
			"new_module('demo', 'github.com/o/module-go-demo@v0.2.0');\n",
		},
		{ // a configuration after the source, and an older tag than the current one
			"new_module('demo', 'github.com/o/r@v0.0.9', {prefix: '> '});",
			"new_module('demo', 'github.com/o/r@v0.2.0', {prefix: '> '});",
		},
		{ // the default branch is not pinned
			"new_module('demo', 'github.com/o/r');\n",
			"new_module('demo', 'github.com/o/r');\n",
		},
		{ // other lines, such as an example of moving to a tag, stay
			"with `deploy_module('demo', 'github.com/o/r@v0.2.0')` (in `@thingsdb`;\n" +
				"Users install the new tag with `new_module` (a new install)\n",
			"with `deploy_module('demo', 'github.com/o/r@v0.2.0')` (in `@thingsdb`;\n" +
				"Users install the new tag with `new_module` (a new install)\n",
		},
		{ // a full stop after the source is not part of the version
			"Give new_module( the source github.com/o/r@v1.2.3.\n",
			"Give new_module( the source github.com/o/r@v0.2.0.\n",
		},
		{ // not a ThingsDB version: left alone
			"new_module('demo', 'github.com/o/r@v1.2.3.4');\n",
			"new_module('demo', 'github.com/o/r@v1.2.3.4');\n",
		},
		{ // CRLF line endings stay
			"a\r\nnew_module('d', 'github.com/o/r@v0.1.0');\r\nb\r\n",
			"a\r\nnew_module('d', 'github.com/o/r@v0.2.0');\r\nb\r\n",
		},
	}
	for _, tt := range tests {
		if got := withInstallLines(tt.text, "0.2.0"); got != tt.want {
			t.Errorf("withInstallLines(%q)\n = %q\nwant %q", tt.text, got, tt.want)
		}
	}
}
