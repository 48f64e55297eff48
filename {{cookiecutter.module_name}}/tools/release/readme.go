package main

import (
	"regexp"
	"strings"
)

// readmeName is the README whose install lines name the release.
const readmeName = "README.md"

// pinnedSource is a module source on GitHub pinned to a tag, as new_module
// takes it: github.com/OWNER/REPO@v<version>. The version is checked apart:
// Go's regexp cannot say what must not follow it.
var pinnedSource = regexp.MustCompile(`(github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+@` + tagPrefix + `)([0-9][0-9.]*)`)

// withInstallLines is the README's text with the sources pinned in its install
// lines (lines that call new_module) moved to the tag of newVersion. Other
// lines, such as an example of deploy_module, stay as they are.
func withInstallLines(text, newVersion string) string {
	lines := strings.SplitAfter(text, "\n")
	for i, line := range lines {
		if strings.Contains(line, "new_module(") {
			lines[i] = pinnedSource.ReplaceAllStringFunc(line, func(source string) string {
				parts := pinnedSource.FindStringSubmatch(source)
				old := strings.TrimRight(parts[2], ".") // a full stop ending a sentence
				if !isVersion(old) {
					return source
				}
				return parts[1] + newVersion + parts[2][len(old):]
			})
		}
	}
	return strings.Join(lines, "")
}
