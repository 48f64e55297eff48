package manifest

import (
	"strings"
	"testing"
)

func TestModuleJSONIsWrittenAsPythonWritesIt(t *testing.T) {
	text := `{"doc": "d\u00e9\n", "a": [], "b": {}, "c": [1, 2.50, {"x": null}], "e": true}`
	root, err := parseOrdered([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"doc\": \"d\u00e9\\n\",\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    2.50,\n" +
		"    {\n      \"x\": null\n    }\n  ],\n  \"e\": true\n}"
	if got := root.python(0); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSameDocTakesOtherSpellingsOfTheSameSignature(t *testing.T) {
	f := Function{
		Name:   "f",
		Argmap: []string{"t", "n", "*"},
		Arguments: []Argument{
			{Name: "t", Type: "thing", Optional: true},
			{Name: "n", Type: "float", Optional: true},
		},
		Defaults: []Default{
			{Name: "t", Value: []byte(`{"a": 1, "b": [1, 2]}`)},
			{Name: "n", Value: []byte(`2`)},
		},
	}
	for doc, same := range map[string]bool{
		`f(t: thing = {"b": [1, 2], "a": 1}, n: float = 2.0, *)`: true,
		`f(t: thing = {"a": 1, "b": [1, 2]}, n: float = 2, *)`:   true,
		`f(t: thing = {"a": 1, "b": [1, 2]}, n: float = 3, *)`:   false,
		`f(t: thing = {"a": 1, "b": [1, 2]}, n: int = 2, *)`:     false,
		`f(t: thing = {"a": 1, "b": [1, 2]}, n: float = 2)`:      false,
		`g(t: thing = {"a": 1, "b": [1, 2]}, n: float = 2, *)`:   false,
	} {
		if got := sameDoc(doc, f); got != same {
			t.Errorf("sameDoc(%s) = %v", doc, got)
		}
	}
}

func TestFunctionsSectionShowsTheExamples(t *testing.T) {
	closure := "|this| this.f()"
	got := FunctionsSection("demo", []sectionEntry{
		{Name: "f", Function: Function{Name: "f", Doc: "f(a: int | str)", Examples: []Example{
			{Args: []string{"1"}, Answer: "1"},
			{Args: []string{}, Err: "num_arguments_err", Message: "function `f`  needs\nit"},
		}}},
		{Name: "g", Closure: &closure},
	})
	want := strings.Join([]string{
		"| function | arguments |", "|---|---|",
		"| `f` | `a: int \\| str` |",
		"| `g` | a ThingsDB closure |",
		"", "### f", "", "`f(a: int | str)`", "", "```thingsdb",
		"demo.f(1).then(|reply| reply);  // 1",
		"demo.f();  // num_arguments_err: function `f` needs it",
		"```",
		"", "### g", "",
		"A ThingsDB closure, run by ThingsDB itself (the module is not called):",
		"`|this| this.f()`.", "", "```thingsdb", "demo.g();", "```",
	}, "\n")
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
