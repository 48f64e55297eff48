package manifest

import (
	"strings"
	"unicode"
)

// sectionEntry is a function of README.md's functions section: one the code
// serves, or a closure.
type sectionEntry struct {
	Name     string
	Closure  *string
	Function Function
}

// FunctionsSection is README.md's functions section, between its marker
// lines: a table of the functions, then each one's signature and examples
// as ThingsDB code calling module. The Python flavour writes the same text
// for the same signatures and examples.
func FunctionsSection(module string, entries []sectionEntry) string {
	lines := []string{"| function | arguments |", "|---|---|"}
	for _, e := range entries {
		if e.Closure != nil {
			lines = append(lines, "| `"+e.Name+"` | a ThingsDB closure |")
			continue
		}
		_, inside, _ := strings.Cut(e.Function.Doc, "(")
		inside = strings.TrimSuffix(inside, ")")
		shown := "none"
		if inside != "" {
			shown = strings.ReplaceAll(mdCode(inside), "|", `\|`)
		}
		lines = append(lines, "| `"+e.Name+"` | "+shown+" |")
	}
	for _, e := range entries {
		lines = append(lines, "", "### "+e.Name, "")
		if e.Closure != nil {
			lines = append(lines,
				"A ThingsDB closure, run by ThingsDB itself (the module is not called):",
				mdCode(*e.Closure)+".",
				"",
				"```thingsdb",
				module+"."+e.Name+"();",
				"```")
			continue
		}
		lines = append(lines, mdCode(e.Function.Doc))
		if len(e.Function.Examples) > 0 {
			lines = append(lines, "", "```thingsdb")
			for _, x := range e.Function.Examples {
				call := module + "." + e.Name + "(" + strings.Join(x.Args, ", ") + ")"
				if x.Err != "" {
					lines = append(lines, call+";  // "+x.Err+": "+strings.Join(pyFields(x.Message), " "))
				} else {
					lines = append(lines, call+".then(|reply| reply);  // "+x.Answer)
				}
			}
			lines = append(lines, "```")
		}
	}
	return strings.Join(lines, "\n")
}

// mdCode is a Markdown code span showing text literally on one line,
// backticks included.
func mdCode(text string) string {
	text = strings.Join(pyFields(text), " ")
	longest, run := 0, 0
	for _, r := range text {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	pad := ""
	if strings.HasPrefix(text, "`") || strings.HasSuffix(text, "`") {
		pad = " "
	}
	return fence + pad + text + pad + fence
}

// pyFields splits text at whitespace as Python's str.split() does, which
// also counts the separators \x1c to \x1f.
func pyFields(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool {
		return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
	})
}
