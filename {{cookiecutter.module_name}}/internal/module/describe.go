package module

import (
	"encoding/json"
	"strconv"

	"{{ cookiecutter.go_module_path }}/internal/valuetext"
)

// Description is a function as module.json exposes it and README.md shows
// it: what `go run . -describe` prints for tools/manifest, which cannot
// import package main.
type Description struct {
	Name string `json:"name"`
	// Doc is the signature: add(a: int, b: int = 2), get(url: str, *).
	Doc string `json:"doc"`
	// Docs are the spellings of Doc that mean the same: a float argument's
	// whole-number default may be written 2 or 2.0.
	Docs   []string `json:"docs"`
	Argmap []string `json:"argmap"`
	// Defaults are the optional arguments' defaults in order, each value as
	// JSON.
	Defaults []Default `json:"defaults"`
	// FloatArguments are the arguments of type float.
	FloatArguments []string            `json:"float_arguments"`
	Examples       []DescribedExample  `json:"examples"`
	Err            string              `json:"error,omitempty"`
	Arguments      []DescribedArgument `json:"arguments"`
}

// Default is the default of one optional argument.
type Default struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// DescribedArgument is an argument by name and ThingsDB type.
type DescribedArgument struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Optional bool   `json:"optional"`
	// Default is the default as ThingsDB code, when Optional.
	Default string `json:"default,omitempty"`
}

// DescribedExample is an example as ThingsDB code: the call's arguments,
// and its answer or error.
type DescribedExample struct {
	Args    []string `json:"args"`
	Answer  string   `json:"answer,omitempty"`
	Err     string   `json:"error,omitempty"`
	Code    int      `json:"code,omitempty"`
	Message string   `json:"message,omitempty"`
}

// Describe describes the functions in their order.
func Describe[C any](functions []Function[C]) []Description {
	out := make([]Description, 0, len(functions))
	for _, f := range functions {
		d := Description{Name: f.name, Argmap: []string{}, Defaults: []Default{}, FloatArguments: []string{},
			Examples: []DescribedExample{}, Arguments: []DescribedArgument{}}
		if f.err != nil {
			d.Err = f.err.Error()
			out = append(out, d)
			continue
		}
		var parts [][]string // each argument's spellings
		var order []string
		for _, a := range f.Arguments() {
			order = append(order, a.Name)
			d.Argmap = append(d.Argmap, a.Name)
			da := DescribedArgument{Name: a.Name, Type: a.Type, Optional: a.Optional}
			text := a.Name + ": " + a.Type
			spellings := []string{text}
			if a.Optional {
				value := PyJSON(a.Default)
				da.Default = Value(mustCanonical(a.Default))
				spellings = []string{text + " = " + value}
				if x, ok := a.Default.(float64); ok && a.Type == "float" && x == float64(int64(x)) && x > -1e15 && x < 1e15 {
					// Written as an integer, as a signature usually gives it.
					whole := strconv.FormatInt(int64(x), 10)
					spellings = []string{text + " = " + whole, text + " = " + value}
					value = whole
				}
				d.Defaults = append(d.Defaults, Default{Name: a.Name, Value: json.RawMessage(value)})
			}
			if a.Type == "float" {
				d.FloatArguments = append(d.FloatArguments, a.Name)
			}
			d.Arguments = append(d.Arguments, da)
			parts = append(parts, spellings)
		}
		if f.Options() {
			d.Argmap = append(d.Argmap, "*")
			parts = append(parts, []string{"*"})
		}
		docs := []string{""}
		for i, spellings := range parts {
			var next []string
			for _, doc := range docs {
				for _, s := range spellings {
					if i > 0 {
						s = ", " + s
					}
					next = append(next, doc+s)
				}
			}
			if len(next) > 64 {
				next = next[:64]
			}
			docs = next
		}
		for _, doc := range docs {
			d.Docs = append(d.Docs, f.name+"("+doc+")")
		}
		d.Doc = d.Docs[0]
		for _, e := range f.examples {
			de := DescribedExample{Args: []string{}}
			for _, arg := range e.Args {
				de.Args = append(de.Args, Value(mustCanonical(arg), order...))
			}
			if e.Err != "" {
				de.Err, de.Code, de.Message = e.Err, int(ErrorCodes[e.Err]), e.Message
			} else {
				de.Answer = Value(mustCanonical(e.Answer), append(order, "options")...)
			}
			d.Examples = append(d.Examples, de)
		}
		out = append(out, d)
	}
	return out
}

func mustCanonical(v any) any {
	c, err := Canonical(v)
	if err != nil {
		return v
	}
	return c
}

// PyJSON is v, made canonical (see Canonical), as module.json's JSON writer
// (Python's json.dumps) writes it on one line (valuetext.JSON): ", " and
// ": " between items, non-ASCII as is, floats as Python's repr, the keys of
// a thing sorted.
func PyJSON(v any) string {
	return valuetext.JSON(mustCanonical(v))
}
